import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ALICE, ALL_VERSIONS, BOB, CAROL, DAVE, EVE, TestRoom, runAuthCases, versionsBetween } from "./fixtures.ts";
import type { AuthCase } from "./fixtures.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { isPowerEvent } from "../../../src/core/auth/index.ts";

const withLevels = (extra: JsonObject) => (id: string) => {
  const room = new TestRoom(id);
  return room.setState("m.room.power_levels", "", { ...(room.lookup("m.room.power_levels", "")?.content ?? {}), ...extra });
};

describe("the sender must be joined (v8 rule 5)", () => {
  const cases: AuthCase[] = [
    { name: "a joined member sends a message", versions: ALL_VERSIONS, event: () => ({ type: "m.room.message", sender: CAROL, content: { body: "hi" } }), allowed: true },
    { name: "a stranger's message is rejected", versions: ALL_VERSIONS, event: () => ({ type: "m.room.message", sender: DAVE, content: {} }), allowed: false, reason: /not joined/ },
    {
      name: "an invited user's message is rejected",
      versions: ALL_VERSIONS,
      room: (id) => new TestRoom(id).member(DAVE, "invite"),
      event: () => ({ type: "m.room.message", sender: DAVE, content: {} }),
      allowed: false,
    },
    {
      name: "a banned user's state event is rejected",
      versions: ALL_VERSIONS,
      room: (id) => new TestRoom(id).member(BOB, "ban"),
      event: () => ({ type: "m.room.topic", sender: BOB, stateKey: "", content: { topic: "x" } }),
      allowed: false,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.third_party_invite (v8 rule 6)", () => {
  const tpi = (sender: string) => ({ type: "m.room.third_party_invite", sender, stateKey: "tok", content: { display_name: "x", public_key: "AAAA" } });
  const cases: AuthCase[] = [
    { name: "a member at the invite level may send it", versions: ALL_VERSIONS, event: () => tpi(CAROL), allowed: true },
    { name: "a member below the invite level may not", versions: ALL_VERSIONS, room: withLevels({ invite: 10 }), event: () => tpi(CAROL), allowed: false, reason: /invite level/ },
    {
      name: "the invite level, not the state level, decides",
      versions: ALL_VERSIONS,
      room: withLevels({ invite: 0, state_default: 100, events: { "m.room.third_party_invite": 100 } }),
      event: () => tpi(CAROL),
      allowed: true,
    },
  ];
  runAuthCases(cases, it);
});

describe("the required power level (v8 rule 7)", () => {
  const cases: AuthCase[] = [
    { name: "a state event needs state_default", versions: ALL_VERSIONS, event: () => ({ type: "m.room.topic", sender: CAROL, stateKey: "", content: {} }), allowed: false, reason: /required/ },
    { name: "a moderator sends state at state_default", versions: ALL_VERSIONS, event: () => ({ type: "m.room.topic", sender: BOB, stateKey: "", content: {} }), allowed: true },
    { name: "an events entry overrides state_default", versions: ALL_VERSIONS, room: withLevels({ events: { "m.room.topic": 0 } }), event: () => ({ type: "m.room.topic", sender: CAROL, stateKey: "", content: {} }), allowed: true },
    { name: "an events entry can restrict a message type", versions: ALL_VERSIONS, room: withLevels({ events: { "m.room.message": 10 } }), event: () => ({ type: "m.room.message", sender: CAROL, content: {} }), allowed: false },
    { name: "events_default restricts messages", versions: ALL_VERSIONS, room: withLevels({ events_default: 1 }), event: () => ({ type: "m.room.message", sender: CAROL, content: {} }), allowed: false },
    {
      name: "without power levels, state needs 50: the creator may, others may not",
      versions: ALL_VERSIONS,
      room: (id) => new TestRoom(id, { powerLevels: null }),
      event: () => ({ type: "m.room.topic", sender: CAROL, stateKey: "", content: {} }),
      allowed: false,
    },
    {
      name: "without power levels, the creator sends state",
      versions: ALL_VERSIONS,
      room: (id) => new TestRoom(id, { powerLevels: null }),
      event: () => ({ type: "m.room.topic", sender: ALICE, stateKey: "", content: {} }),
      allowed: true,
    },
    {
      name: "v1-v9: a stringy required level is read as a number",
      versions: versionsBetween(1, 9),
      room: withLevels({ events: { "m.room.message": "10" } }),
      event: () => ({ type: "m.room.message", sender: CAROL, content: {} }),
      allowed: false,
    },
    {
      name: "v10+: a stringy required level in state is not a level: events_default applies",
      versions: versionsBetween(10, 12),
      room: withLevels({ events: { "m.room.message": "10" } }),
      event: () => ({ type: "m.room.message", sender: CAROL, content: {} }),
      allowed: true,
    },
  ];
  runAuthCases(cases, it);
});

describe("state keys that are user IDs (v8 rule 8)", () => {
  const cases: AuthCase[] = [
    { name: "a state_key of the sender's own ID is allowed", versions: ALL_VERSIONS, room: withLevels({ state_default: 0 }), event: () => ({ type: "m.custom", sender: CAROL, stateKey: CAROL, content: {} }), allowed: true },
    { name: "a state_key of another user's ID is rejected", versions: ALL_VERSIONS, room: withLevels({ state_default: 0 }), event: () => ({ type: "m.custom", sender: CAROL, stateKey: BOB, content: {} }), allowed: false, reason: /@/ },
    { name: "even from an admin", versions: ALL_VERSIONS, event: () => ({ type: "m.custom", sender: ALICE, stateKey: "@anything", content: {} }), allowed: false },
    { name: "other state keys are free", versions: ALL_VERSIONS, room: withLevels({ state_default: 0 }), event: () => ({ type: "m.custom", sender: CAROL, stateKey: "x@y", content: {} }), allowed: true },
  ];
  runAuthCases(cases, it);
});

describe("m.room.redaction (v1-v2 rule 11; v3+ like any event)", () => {
  const redaction = (sender: string, redacts: string | undefined, eventId?: string) => ({
    type: "m.room.redaction",
    sender,
    content: {},
    redacts,
    ...(eventId === undefined ? {} : { eventId }),
  });
  const cases: AuthCase[] = [
    { name: "rule 11.1: a sender at the redact level may redact anything", versions: versionsBetween(1, 2), event: () => redaction(BOB, "$x:elsewhere.test"), allowed: true },
    { name: "rule 11.2: a redaction of an event of the redaction's own domain is allowed", versions: versionsBetween(1, 2), event: () => redaction(CAROL, "$x:example.org", "$r:example.org"), allowed: true },
    { name: "rule 11.3: a low-power redaction of another domain's event is rejected", versions: versionsBetween(1, 2), event: () => redaction(CAROL, "$x:elsewhere.test", "$r:example.org"), allowed: false, reason: /redact/ },
    { name: "rule 11.3: a low-power redaction without redacts is rejected", versions: versionsBetween(1, 2), event: () => redaction(CAROL, undefined, "$r:example.org"), allowed: false },
    { name: "v3+: the redact level is not an auth rule", versions: versionsBetween(3, 12), event: () => redaction(CAROL, "$someoneelses"), allowed: true },
    { name: "v3+: the events level of m.room.redaction applies", versions: versionsBetween(3, 12), room: withLevels({ events: { "m.room.redaction": 10 } }), event: () => redaction(CAROL, "$x"), allowed: false, reason: /required/ },
    { name: "a redaction from a non-member is rejected", versions: ALL_VERSIONS, event: () => redaction(EVE, "$x:elsewhere.test", "$r:elsewhere.test"), allowed: false, reason: /not joined/ },
  ];
  runAuthCases(cases, it);
});

describe("isPowerEvent (rooms/fragments/v2-state-res.md)", () => {
  const table: Array<[string, { type: string; stateKey: string | undefined; sender: string; content: JsonObject }, boolean]> = [
    ["power levels", { type: "m.room.power_levels", stateKey: "", sender: ALICE, content: {} }, true],
    ["join rules", { type: "m.room.join_rules", stateKey: "", sender: ALICE, content: {} }, true],
    ["a kick", { type: "m.room.member", stateKey: CAROL, sender: BOB, content: { membership: "leave" } }, true],
    ["a ban", { type: "m.room.member", stateKey: CAROL, sender: BOB, content: { membership: "ban" } }, true],
    ["a leave", { type: "m.room.member", stateKey: CAROL, sender: CAROL, content: { membership: "leave" } }, false],
    ["an invite", { type: "m.room.member", stateKey: CAROL, sender: BOB, content: { membership: "invite" } }, false],
    ["a topic", { type: "m.room.topic", stateKey: "", sender: ALICE, content: {} }, false],
    ["the create event", { type: "m.room.create", stateKey: "", sender: ALICE, content: {} }, false],
    ["a non-state power levels type", { type: "m.room.power_levels", stateKey: undefined, sender: ALICE, content: {} }, false],
  ];
  for (const [name, event, expected] of table) {
    it(`${name}: ${expected}`, () => assert.equal(isPowerEvent(event), expected));
  }
});
