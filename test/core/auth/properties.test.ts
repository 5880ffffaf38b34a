// Property tests: the rules never throw on hostile input, and no sender gets past a level they lack.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ALICE, ALL_VERSIONS, BOB, CAROL, DAVE, EVE, TestRoom, memberEvent, makeCreate, version } from "./fixtures.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import {
  actionLevel,
  authEventsSelection,
  checkAuthEventsList,
  checkEventAuth,
  parsePowerLevelValue,
  powerLevelOf,
  requiredPowerLevel,
} from "../../../src/core/auth/index.ts";

const USERS = [ALICE, BOB, CAROL, DAVE, EVE];

const hostileKey = fc.oneof(
  fc.constantFrom(
    "__proto__", "constructor", "toString", "hasOwnProperty", "membership", "users", "events", "notifications", "ban", "kick",
    "invite", "redact", "state_default", "events_default", "users_default", "join_rule", "third_party_invite", "signed", "mxid",
    "token", "signatures", "join_authorised_via_users_server", "creator", "additional_creators", "room_version", "m.federate",
    "public_key", "public_keys", "m.room.message", "m.room.power_levels", "room", ...USERS,
  ),
  fc.string({ maxLength: 6 }),
);
const hostileLeaf: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(
    null, true, false, 0, -0, -1, 50, 100, 1e308, -1e308, Infinity, -Infinity, NaN, 2 ** 53, 2 ** 64, 50.5, -0.5,
    "50", " 050 ", "+100", "-0", "1e3", "abc", "", "join", "invite", "leave", "ban", "knock", "public", "restricted",
    "knock_restricted", "private", ...USERS, "@", "@:", "tok",
  ),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
);

/** An object whose keys are own properties even when named __proto__, as JSON.parse makes them. */
function objectOf(entries: Array<[string, JsonValue]>): JsonObject {
  const object: JsonObject = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

const hostile = fc.letrec<{ value: JsonValue; object: JsonObject }>((tie) => ({
  value: fc.oneof({ depthSize: "small" }, hostileLeaf, fc.array(tie("value"), { maxLength: 4 }), tie("object")),
  object: fc.array(fc.tuple(hostileKey, tie("value")), { maxLength: 6 }).map(objectOf),
}));
const hostileObject = hostile.object;

const versionId = fc.constantFrom(...ALL_VERSIONS);
const eventType = fc.constantFrom(
  "m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules", "m.room.third_party_invite",
  "m.room.aliases", "m.room.redaction", "m.room.message", "m.room.topic", "m.custom",
);
const stateKey = fc.option(fc.oneof(fc.constantFrom("", "tok", "example.org", ...USERS), fc.string({ maxLength: 6 })), { nil: undefined });

/** A room whose state events carry hostile content, next to a plausible room. */
const hostileRoom = fc
  .record({
    versionId,
    create: fc.option(hostileObject, { nil: undefined }),
    powerLevels: fc.option(hostileObject, { nil: undefined }),
    joinRules: fc.option(hostileObject, { nil: undefined }),
    members: fc.array(fc.tuple(fc.constantFrom(...USERS), hostileObject), { maxLength: 4 }),
    thirdPartyInvite: fc.option(hostileObject, { nil: undefined }),
  })
  .map(({ versionId, create, powerLevels, joinRules, members, thirdPartyInvite }) => {
    const v = version(versionId);
    const room = new TestRoom(versionId, create === undefined ? {} : { create: makeCreate(v, { content: create }) });
    if (powerLevels !== undefined) room.setState("m.room.power_levels", "", powerLevels);
    if (joinRules !== undefined) room.setState("m.room.join_rules", "", joinRules);
    for (const [userId, content] of members) room.setState("m.room.member", userId, content, userId);
    if (thirdPartyInvite !== undefined) room.setState("m.room.third_party_invite", "tok", thirdPartyInvite, CAROL);
    return room;
  });

const hostileEvent = fc.record({
  type: eventType,
  stateKey,
  sender: fc.oneof(fc.constantFrom(...USERS), fc.string({ maxLength: 6 })),
  content: fc.oneof(
    hostileObject,
    fc.tuple(fc.constantFrom("join", "invite", "leave", "ban", "knock", 5, null), hostileObject).map(([membership, rest]) => objectOf([...Object.entries(rest), ["membership", membership]])),
  ),
  prevEventIds: fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
  redacts: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
});

describe("properties: hostile input", () => {
  it("checkEventAuth never throws, and always answers allowed or a reason", () => {
    fc.assert(
      fc.property(hostileRoom, hostileEvent, (room, spec) => {
        const event = room.event(spec);
        const result = checkEventAuth(event, room.lookup);
        assert.equal(typeof result.allowed, "boolean");
        if (!result.allowed) assert.equal(typeof result.reason, "string");
      }),
      { numRuns: 1500 },
    );
  });

  it("authEventsSelection and checkAuthEventsList never throw", () => {
    fc.assert(
      fc.property(hostileRoom, hostileEvent, (room, spec) => {
        const authEvents = [...room.state.values()];
        const event = room.event({ ...spec, authEventIds: authEvents.map((e) => e.eventId) });
        const selected = authEventsSelection(event, room.version);
        assert.ok(Array.isArray(selected));
        assert.equal(typeof checkAuthEventsList(event, authEvents).allowed, "boolean");
      }),
      { numRuns: 500 },
    );
  });

  it("power level readers never throw and never return NaN", () => {
    fc.assert(
      fc.property(hostileRoom, fc.constantFrom(...USERS, "constructor", "__proto__"), eventType, stateKey, (room, userId, type, key) => {
        const v = room.version;
        for (const level of [
          powerLevelOf(userId, room.lookup, v),
          requiredPowerLevel(type, key, room.lookup, v),
          actionLevel("ban", room.lookup, v),
          actionLevel("invite", room.lookup, v),
        ]) {
          assert.equal(typeof level, "number");
          assert.ok(!Number.isNaN(level));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("properties: levels", () => {
  const level = fc.integer({ min: -20, max: 120 });

  it("a sender below the required level is never allowed to send that event", () => {
    const types = ["m.room.topic", "m.room.name", "m.custom", "m.room.power_levels", "m.room.join_rules", "m.room.history_visibility", "m.room.message", "m.room.redaction"];
    fc.assert(
      fc.property(
        versionId,
        fc.constantFrom(...types),
        fc.boolean(),
        fc.record({ sender: level, typeLevel: fc.option(level, { nil: undefined }), stateDefault: level, eventsDefault: level }),
        (id, type, asState, levels) => {
          const events: JsonObject = levels.typeLevel === undefined ? {} : { [type]: levels.typeLevel };
          const powerLevels: JsonObject = { users: { [CAROL]: levels.sender }, events, state_default: levels.stateDefault, events_default: levels.eventsDefault };
          const room = new TestRoom(id, { powerLevels });
          const content = type === "m.room.power_levels" ? powerLevels : {};
          const key = asState || type === "m.room.power_levels" ? "" : undefined;
          const result = room.check({ type, sender: CAROL, stateKey: key, content, redacts: "$x:example.org", eventId: "$r:elsewhere.test" });
          if (result.allowed) {
            assert.ok(powerLevelOf(CAROL, room.lookup, room.version) >= requiredPowerLevel(type, key, room.lookup, room.version));
          }
          const required = requiredPowerLevel(type, key, room.lookup, room.version);
          if (levels.sender < required) assert.equal(result.allowed, false);
        },
      ),
      { numRuns: 800 },
    );
  });

  it("a ban or kick is allowed only from the ban/kick level and over a lower user", () => {
    fc.assert(
      fc.property(versionId, fc.constantFrom("ban", "leave"), level, level, level, level, (id, membership, senderLevel, targetLevel, ban, kick) => {
        const v = version(id);
        const users: JsonObject = { [BOB]: senderLevel, [CAROL]: targetLevel };
        const room = new TestRoom(id, { powerLevels: { users: v.privilegedCreators ? users : { ...users, [ALICE]: 100 }, ban, kick } });
        const result = room.check(memberEvent(BOB, CAROL, membership));
        const needed = membership === "ban" ? ban : kick;
        assert.equal(result.allowed, senderLevel >= needed && targetLevel < senderLevel);
      }),
      { numRuns: 800 },
    );
  });

  it("an allowed power levels change never sets a level above the sender's", () => {
    fc.assert(
      fc.property(
        versionId,
        level,
        fc.dictionary(fc.constantFrom(BOB, CAROL, DAVE, EVE), level, { maxKeys: 4 }),
        fc.dictionary(fc.constantFrom(BOB, CAROL, DAVE, EVE), level, { maxKeys: 4 }),
        fc.record({ ban: fc.option(level, { nil: undefined }), kick: fc.option(level, { nil: undefined }) }),
        (id, senderLevel, before, after, named) => {
          const room = new TestRoom(id, { powerLevels: { users: { ...before, [BOB]: senderLevel }, events: { "m.room.power_levels": 0 } } });
          const nextUsers: JsonObject = { ...after };
          const content: JsonObject = { users: nextUsers, events: { "m.room.power_levels": 0 } };
          if (named.ban !== undefined) content["ban"] = named.ban;
          if (named.kick !== undefined) content["kick"] = named.kick;
          const result = room.check({ type: "m.room.power_levels", sender: BOB, stateKey: "", content });
          if (!result.allowed) return;
          const previous: JsonObject = { ...before, [BOB]: senderLevel };
          for (const [userId, value] of Object.entries(nextUsers)) {
            if (previous[userId] !== value) assert.ok((value as number) <= senderLevel, `${userId} set to ${String(value)}`);
          }
          for (const [userId, value] of Object.entries(previous)) {
            if (userId !== BOB && nextUsers[userId] !== value) assert.ok((value as number) < senderLevel, `${userId} changed from ${String(value)}`);
          }
          for (const value of [named.ban, named.kick]) if (value !== undefined) assert.ok(value <= senderLevel); // added: the room had neither
        },
      ),
      { numRuns: 800 },
    );
  });

  it("stringy levels parse to their integer before v10 and are no levels from v10", () => {
    fc.assert(
      fc.property(
        fc.maxSafeInteger(),
        fc.constantFrom("", " ", "\t", "  \n"),
        fc.constantFrom("", " "),
        fc.nat({ max: 3 }),
        fc.boolean(),
        versionId,
        (n, before, after, zeros, plus, id) => {
          const sign = n < 0 ? "-" : plus ? "+" : "";
          const text = `${before}${sign}${"0".repeat(zeros)}${Math.abs(n)}${after}`;
          const v = version(id);
          assert.equal(parsePowerLevelValue(text, v), v.integerPowerLevels ? undefined : n);
        },
      ),
    );
  });
});
