import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ALICE, ALL_VERSIONS, BOB, CAROL, DAVE, EVE, TestRoom, makeCreate, runAuthCases, version, versionsBetween } from "./fixtures.ts";
import type { AuthCase } from "./fixtures.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import { actionLevel, parsePowerLevelValue, powerLevelOf, requiredPowerLevel, roomCreators } from "../../../src/core/auth/index.ts";

describe("parsePowerLevelValue", () => {
  const table: Array<[value: JsonValue, versions: readonly string[], expected: number | undefined]> = [
    [50, ALL_VERSIONS, 50],
    [-7, ALL_VERSIONS, -7],
    [0, ALL_VERSIONS, 0],
    ["50", versionsBetween(1, 9), 50],
    ["50", versionsBetween(10, 12), undefined],
    ["000100", versionsBetween(1, 9), 100],
    ["+100", versionsBetween(1, 9), 100],
    ["-100", versionsBetween(1, 9), -100],
    [" \t 00100 \n", versionsBetween(1, 9), 100],
    [" -0 ", versionsBetween(1, 9), 0],
    ["50.5", ALL_VERSIONS, undefined],
    ["1e2", ALL_VERSIONS, undefined],
    ["0x10", ALL_VERSIONS, undefined],
    ["+-1", ALL_VERSIONS, undefined],
    ["", ALL_VERSIONS, undefined],
    ["   ", ALL_VERSIONS, undefined],
    ["1 2", ALL_VERSIONS, undefined],
    ["1".repeat(400), ALL_VERSIONS, undefined], // beyond a double
    [50.57, versionsBetween(1, 5), 50],
    [51146.98, versionsBetween(1, 5), 51146],
    [-0.5, versionsBetween(1, 5), 0],
    [50.57, versionsBetween(6, 12), undefined],
    [2 ** 60, versionsBetween(1, 5), 2 ** 60],
    [2 ** 60, versionsBetween(6, 12), undefined],
    [Infinity, ALL_VERSIONS, undefined],
    [-Infinity, ALL_VERSIONS, undefined],
    [NaN, ALL_VERSIONS, undefined],
    [null, ALL_VERSIONS, undefined],
    [true, ALL_VERSIONS, undefined],
    [[50], ALL_VERSIONS, undefined],
    [{ level: 50 }, ALL_VERSIONS, undefined],
  ];
  for (const [value, versions, expected] of table) {
    it(`${JSON.stringify(value)?.slice(0, 20) ?? String(value)} in v${versions.join(",")} -> ${String(expected)}`, () => {
      for (const id of versions) {
        const parsed = parsePowerLevelValue(value, version(id));
        assert.ok(Object.is(parsed, expected), `v${id}: got ${String(parsed)}`);
      }
    });
  }
});

describe("powerLevelOf, requiredPowerLevel, actionLevel", () => {
  it("without power levels: the creator has 100 (v1-v11), others 0", () => {
    for (const id of versionsBetween(1, 11)) {
      const room = new TestRoom(id, { powerLevels: null });
      assert.equal(powerLevelOf(ALICE, room.lookup, room.version), 100, `v${id}`);
      assert.equal(powerLevelOf(CAROL, room.lookup, room.version), 0, `v${id}`);
    }
  });

  it("v1-v10 take the creator from content.creator, v11 from the sender", () => {
    for (const id of versionsBetween(1, 11)) {
      const v = version(id);
      const create = makeCreate(v, { content: { creator: CAROL } });
      const room = new TestRoom(id, { create, powerLevels: null });
      assert.equal(powerLevelOf(CAROL, room.lookup, v), v.creatorInContent ? 100 : 0, `v${id}`);
      assert.equal(powerLevelOf(ALICE, room.lookup, v), v.creatorInContent ? 0 : 100, `v${id}`);
    }
  });

  it("v12: the creators' power is Infinity, with or without power levels", () => {
    const v = version("12");
    const create = makeCreate(v, { content: { additional_creators: [CAROL, 5] } });
    for (const powerLevels of [null, { users: { [BOB]: 1000 }, users_default: 10 }]) {
      const room = new TestRoom("12", { create, powerLevels });
      assert.equal(powerLevelOf(ALICE, room.lookup, v), Infinity);
      assert.equal(powerLevelOf(CAROL, room.lookup, v), Infinity);
      assert.equal(powerLevelOf(DAVE, room.lookup, v), powerLevels === null ? 0 : 10);
    }
    assert.deepEqual([...roomCreators(create, v)], [ALICE, CAROL]);
  });

  it("with power levels: users, else users_default, else 0", () => {
    const room = new TestRoom("10", { powerLevels: { users: { [BOB]: 42 }, users_default: 7 } });
    assert.equal(powerLevelOf(BOB, room.lookup, room.version), 42);
    assert.equal(powerLevelOf(CAROL, room.lookup, room.version), 7);
    room.setState("m.room.power_levels", "", { users: { [BOB]: 42 } });
    assert.equal(powerLevelOf(CAROL, room.lookup, room.version), 0);
  });

  it("reads stringy and floaty levels by the room version's rules", () => {
    const content = { users: { [BOB]: "42", [CAROL]: 12.9 }, users_default: " 3 " };
    const room4 = new TestRoom("4", { powerLevels: content });
    assert.equal(powerLevelOf(BOB, room4.lookup, room4.version), 42);
    assert.equal(powerLevelOf(CAROL, room4.lookup, room4.version), 12);
    assert.equal(powerLevelOf(DAVE, room4.lookup, room4.version), 3);
    const room10 = new TestRoom("10", { powerLevels: content });
    // In v10 none of these are levels: the defaults apply.
    assert.equal(powerLevelOf(BOB, room10.lookup, room10.version), 0);
    assert.equal(powerLevelOf(CAROL, room10.lookup, room10.version), 0);
  });

  it("never reads inherited properties as levels", () => {
    const room = new TestRoom("10", { powerLevels: { users: {} } });
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      assert.equal(powerLevelOf(name, room.lookup, room.version), 0);
      assert.equal(requiredPowerLevel(name, undefined, room.lookup, room.version), 0);
    }
  });

  it("required power level: events, else state_default (50) or events_default (0)", () => {
    const room = new TestRoom("10", { powerLevels: { events: { "m.room.topic": 20, "m.custom": 90 }, state_default: 40, events_default: 5 } });
    const v = room.version;
    assert.equal(requiredPowerLevel("m.room.topic", "", room.lookup, v), 20);
    assert.equal(requiredPowerLevel("m.custom", undefined, room.lookup, v), 90);
    assert.equal(requiredPowerLevel("m.room.name", "", room.lookup, v), 40);
    assert.equal(requiredPowerLevel("m.room.message", undefined, room.lookup, v), 5);
    const bare = new TestRoom("10", { powerLevels: null });
    assert.equal(requiredPowerLevel("m.room.name", "", bare.lookup, v), 50);
    assert.equal(requiredPowerLevel("m.room.message", undefined, bare.lookup, v), 0);
  });

  it("action levels default to invite 0, kick/ban/redact 50", () => {
    const bare = new TestRoom("10", { powerLevels: null });
    assert.deepEqual(
      (["invite", "kick", "ban", "redact"] as const).map((a) => actionLevel(a, bare.lookup, bare.version)),
      [0, 50, 50, 50],
    );
    const set = new TestRoom("10", { powerLevels: { invite: 1, kick: 2, ban: 3, redact: "4" } });
    assert.deepEqual(
      (["invite", "kick", "ban", "redact"] as const).map((a) => actionLevel(a, set.lookup, set.version)),
      [1, 2, 3, 50],
    );
  });
});

describe("m.room.power_levels: the shape of the content (v1 rule 10.1, v10 rules 9.1-9.3)", () => {
  const pl = (content: JsonObject, sender = ALICE) => ({ type: "m.room.power_levels", sender, stateKey: "", content });
  const fresh = (id: string) => new TestRoom(id, { powerLevels: null });
  const cases: AuthCase[] = [
    { name: "a first power levels event is allowed", versions: ALL_VERSIONS, room: fresh, event: () => pl({ users: { [BOB]: 50 }, ban: 50 }), allowed: true },
    { name: "users is optional", versions: ALL_VERSIONS, room: fresh, event: () => pl({ ban: 50 }), allowed: true },
    { name: "users that is not an object is rejected", versions: ALL_VERSIONS, room: fresh, event: () => pl({ users: [BOB] }), allowed: false, reason: /users is not an object/ },
    { name: "a users key that is not a user ID is rejected", versions: ALL_VERSIONS, room: fresh, event: () => pl({ users: { bob: 50 } }), allowed: false, reason: /not a user ID/ },
    { name: "a users value that is not a level is rejected", versions: ALL_VERSIONS, room: fresh, event: () => pl({ users: { [BOB]: "fifty" } }), allowed: false, reason: /not a valid power level/ },
    { name: "a users value of null is rejected", versions: ALL_VERSIONS, room: fresh, event: () => pl({ users: { [BOB]: null } }), allowed: false },
    { name: "v1-v9: string users values are allowed", versions: versionsBetween(1, 9), room: fresh, event: () => pl({ users: { [BOB]: " +050 " } }), allowed: true },
    { name: "v10+: string users values are rejected", versions: versionsBetween(10, 12), room: fresh, event: () => pl({ users: { [BOB]: "50" } }), allowed: false },
    { name: "v1-v9: string named levels are allowed", versions: versionsBetween(1, 9), room: fresh, event: () => pl({ ban: "50", state_default: "0" }), allowed: true },
    { name: "v10+ rule 9.1: string named levels are rejected", versions: versionsBetween(10, 12), room: fresh, event: () => pl({ ban: "50" }), allowed: false, reason: /ban is not a valid power level/ },
    { name: "v1-v5: float levels are allowed (truncated)", versions: versionsBetween(1, 5), room: fresh, event: () => pl({ users: { [BOB]: 50.57 }, kick: 1.5 }), allowed: true },
    { name: "v6+: float levels are rejected", versions: versionsBetween(6, 12), room: fresh, event: () => pl({ users: { [BOB]: 50.57 } }), allowed: false },
    { name: "negative levels are levels", versions: ALL_VERSIONS, room: fresh, event: () => pl({ users: { [BOB]: -10 }, users_default: -1 }), allowed: true },
    { name: "v6+: integers beyond 2^53 are rejected", versions: versionsBetween(6, 12), room: fresh, event: () => pl({ invite: 2 ** 60 }), allowed: false },
    { name: "a named level that is an object is rejected", versions: ALL_VERSIONS, room: fresh, event: () => pl({ kick: { a: 1 } }), allowed: false, reason: /kick/ },
    { name: "v10+ rule 9.2: events that is not an object is rejected", versions: ALL_VERSIONS, room: fresh, event: () => pl({ events: "m.room.name" }), allowed: false, reason: /events is not an object/ },
    { name: "v10+ rule 9.2: a string events value is rejected", versions: versionsBetween(10, 12), room: fresh, event: () => pl({ events: { "m.room.name": "50" } }), allowed: false },
    { name: "v1-v9: a string events value is allowed", versions: versionsBetween(1, 9), room: fresh, event: () => pl({ events: { "m.room.name": "50" } }), allowed: true },
    { name: "v6+: notifications with a non-level value is rejected", versions: versionsBetween(6, 12), room: fresh, event: () => pl({ notifications: { room: [] } }), allowed: false, reason: /notifications/ },
    { name: "v1-v5: notifications means nothing to the rules", versions: versionsBetween(1, 5), room: fresh, event: () => pl({ notifications: "junk" }), allowed: true },
    {
      name: "v12 rule 10.4: the creator may not appear in users",
      versions: ["12"],
      room: fresh,
      event: () => pl({ users: { [ALICE]: 100 } }),
      allowed: false,
      reason: /room creator/,
    },
    {
      name: "v12 rule 10.4: an additional creator may not appear in users",
      versions: ["12"],
      room: (id) => new TestRoom(id, { powerLevels: null, create: makeCreate(version(id), { content: { additional_creators: [BOB] } }) }),
      event: () => pl({ users: { [BOB]: 100 } }),
      allowed: false,
      reason: /room creator/,
    },
    { name: "before v12 the creator may appear in users", versions: versionsBetween(1, 11), room: fresh, event: () => pl({ users: { [ALICE]: 100 } }), allowed: true },
  ];
  runAuthCases(cases, it);
});

describe("m.room.power_levels: changes (v1 rules 10.3-10.7, v8 rules 9.3-9.7)", () => {
  // alice 100 (creator in v12), bob 50, carol 0; bob may send power levels in these rooms.
  const room = (overrides: JsonObject = {}, extraUsers: JsonObject = {}) => (id: string) => {
    const v = version(id);
    const users: JsonObject = v.privilegedCreators ? { [BOB]: 50, [EVE]: 50 } : { [ALICE]: 100, [BOB]: 50, [EVE]: 50 };
    Object.assign(users, extraUsers);
    return new TestRoom(id, {
      members: { [ALICE]: "join", [BOB]: "join", [CAROL]: "join", [EVE]: "join" },
      powerLevels: {
        users,
        events: { "m.room.power_levels": 50, "m.room.tombstone": 100 },
        notifications: { room: 50 },
        ban: 50,
        kick: 50,
        redact: 50,
        state_default: 50,
        ...overrides,
      },
    });
  };
  const change = (edit: (content: JsonObject) => JsonObject, sender = BOB) => (r: TestRoom) => {
    const current = structuredClone(r.lookup("m.room.power_levels", "")?.content ?? {});
    return { type: "m.room.power_levels", sender, stateKey: "", content: edit(current) };
  };
  const users = (c: JsonObject) => c["users"] as JsonObject;
  const cases: AuthCase[] = [
    { name: "an unchanged power levels event is allowed", versions: ALL_VERSIONS, room: room(), event: change((c) => c), allowed: true },
    { name: "the sender below the required level of m.room.power_levels is rejected (rule 7)", versions: ALL_VERSIONS, room: room(), event: change((c) => c, CAROL), allowed: false, reason: /required/ },
    { name: "rule 9.3: a named level may be set up to the sender's level", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, kick: 40, invite: 50 })), allowed: true },
    { name: "rule 9.3.2: a named level may not be set above the sender's", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, invite: 51 })), allowed: false, reason: /invite above/ },
    { name: "rule 9.3.1: a named level above the sender's may not be lowered", versions: ALL_VERSIONS, room: room({ redact: 60 }), event: change((c) => ({ ...c, redact: 10 })), allowed: false, reason: /redact from a level above/ },
    { name: "rule 9.3.1: nor removed", versions: ALL_VERSIONS, room: room({ redact: 60 }), event: change(({ redact: _r, ...c }) => c), allowed: false },
    { name: "rule 9.3: a named level above the sender's may stay", versions: ALL_VERSIONS, room: room({ redact: 60 }), event: change((c) => ({ ...c, kick: 10 })), allowed: true },
    { name: "v1-v9: \"60\" and 60 are the same level, not a change", versions: versionsBetween(1, 9), room: room({ redact: 60 }), event: change((c) => ({ ...c, redact: "60" })), allowed: true },
    { name: "rule 9.4: an events entry above the sender's may not change", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, events: { "m.room.power_levels": 50, "m.room.tombstone": 50 } })), allowed: false, reason: /tombstone/ },
    { name: "rule 9.4: nor be removed", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, events: { "m.room.power_levels": 50 } })), allowed: false },
    { name: "rule 9.5: an events entry may be added up to the sender's level", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, events: { ...(c["events"] as JsonObject), "m.room.name": 50 } })), allowed: true },
    { name: "rule 9.5: an events entry may not be added above the sender's level", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, events: { ...(c["events"] as JsonObject), "m.room.name": 51 } })), allowed: false },
    { name: "v6+ rule 9.5: a notifications entry may not be raised above the sender's level", versions: versionsBetween(6, 12), room: room(), event: change((c) => ({ ...c, notifications: { room: 99 } })), allowed: false, reason: /notifications/ },
    { name: "v1-v5: notifications are not checked", versions: versionsBetween(1, 5), room: room(), event: change((c) => ({ ...c, notifications: { room: 99 } })), allowed: true },
    { name: "v6+ rule 9.4: a notifications entry above the sender's may not be lowered", versions: versionsBetween(6, 12), room: room({ notifications: { room: 70 } }), event: change((c) => ({ ...c, notifications: { room: 0 } })), allowed: false },
    { name: "rule 9.7: a user may be promoted to the sender's level", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, users: { ...users(c), [CAROL]: 50 } })), allowed: true },
    { name: "rule 9.7: a user may not be promoted above the sender's level", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, users: { ...users(c), [CAROL]: 51 } })), allowed: false, reason: /above the sender/ },
    { name: "rule 9.7: the sender may not promote themselves", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, users: { ...users(c), [BOB]: 60 } })), allowed: false },
    { name: "rule 9.6: the sender may demote themselves", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, users: { ...users(c), [BOB]: 10 } })), allowed: true },
    { name: "rule 9.6: a user of the sender's level may not be demoted", versions: ALL_VERSIONS, room: room(), event: change((c) => ({ ...c, users: { ...users(c), [EVE]: 0 } })), allowed: false, reason: /not below/ },
    { name: "rule 9.6: nor removed", versions: ALL_VERSIONS, room: room(), event: change((c) => { const { [EVE]: _e, ...rest } = users(c); return { ...c, users: rest }; }), allowed: false },
    { name: "rule 9.6: a user below the sender may be demoted", versions: ALL_VERSIONS, room: room({}, { [CAROL]: 20 }), event: change((c) => ({ ...c, users: { ...users(c), [CAROL]: 0 } })), allowed: true },
    { name: "an admin of 100 may not demote another admin of 100", versions: versionsBetween(1, 11), room: room({ users: { [ALICE]: 100, [BOB]: 100 } }), event: change((c) => ({ ...c, users: { [ALICE]: 100, [BOB]: 50 } }), ALICE), allowed: false },
    { name: "v12: a creator may demote a user of 100", versions: ["12"], room: room({ users: { [BOB]: 100 } }), event: change((c) => ({ ...c, users: { [BOB]: 0 } }), ALICE), allowed: true },
    { name: "v12: a creator may set any level", versions: ["12"], room: room(), event: change((c) => ({ ...c, ban: 1_000_000, users: { [BOB]: 9_000_000 } }), ALICE), allowed: true },
  ];
  runAuthCases(cases, it);
});
