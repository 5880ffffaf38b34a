import { describe, it } from "node:test";
import { ALICE, ALL_VERSIONS, CAROL, EVE, TestRoom, makeCreate, makeEvent, version, versionsBetween, runAuthCases } from "./fixtures.ts";
import type { AuthCase } from "./fixtures.ts";
import type { JsonObject } from "../../../src/core/json.ts";

function createIn(versionId: string, content: JsonObject, extra: { sender?: string; prevEventIds?: string[]; withRoomId?: string } = {}) {
  const v = version(versionId);
  const sender = extra.sender ?? ALICE;
  const roomId = extra.withRoomId ?? (v.roomIdFromCreateEvent ? "!derived" : "!room:example.org");
  const pdu: JsonObject = v.roomIdFromCreateEvent && extra.withRoomId === undefined ? {} : { room_id: roomId };
  return makeEvent(v, roomId, { type: "m.room.create", sender, stateKey: "", content, prevEventIds: extra.prevEventIds ?? [], pdu });
}

function validContent(versionId: string): JsonObject {
  const v = version(versionId);
  return { room_version: versionId, ...(v.creatorInContent ? { creator: ALICE } : {}) };
}

describe("m.room.create (rule 1)", () => {
  const cases: AuthCase[] = [
    { name: "a well-formed create event is allowed", versions: ALL_VERSIONS, event: (r) => createIn(r.version.id, validContent(r.version.id)), allowed: true },
    {
      name: "rule 1.1: a create event with prev_events is rejected",
      versions: ALL_VERSIONS,
      event: (r) => createIn(r.version.id, validContent(r.version.id), { prevEventIds: ["$x"] }),
      allowed: false,
      reason: /prev_events/,
    },
    {
      name: "rule 1.2: the room_id's domain must be the sender's",
      versions: versionsBetween(1, 11),
      event: (r) => createIn(r.version.id, { ...validContent(r.version.id), creator: EVE }, { sender: EVE }),
      allowed: false,
      reason: /domain of the room_id/,
    },
    {
      name: "rule 1.2 (v12): a create event with a room_id is rejected",
      versions: ["12"],
      event: (r) => createIn(r.version.id, validContent(r.version.id), { withRoomId: "!abc:example.org" }),
      allowed: false,
      reason: /has a room_id/,
    },
    {
      name: "rule 1.3: an unknown room_version is rejected",
      versions: ALL_VERSIONS,
      event: (r) => createIn(r.version.id, { ...validContent(r.version.id), room_version: "999" }),
      allowed: false,
      reason: /room_version/,
    },
    {
      name: "rule 1.3: a room_version that is not a string is rejected",
      versions: ALL_VERSIONS,
      event: (r) => createIn(r.version.id, { ...validContent(r.version.id), room_version: 5 }),
      allowed: false,
      reason: /room_version/,
    },
    {
      name: "rule 1.3: room_version may be absent",
      versions: ALL_VERSIONS,
      event: (r) => createIn(r.version.id, version(r.version.id).creatorInContent ? { creator: ALICE } : {}),
      allowed: true,
    },
    {
      name: "rule 1.4 (v1-v10): a create event without creator is rejected",
      versions: versionsBetween(1, 10),
      event: (r) => createIn(r.version.id, { room_version: r.version.id }),
      allowed: false,
      reason: /creator/,
    },
    {
      name: "v11+: a create event needs no creator",
      versions: versionsBetween(11, 12),
      event: (r) => createIn(r.version.id, { room_version: r.version.id }),
      allowed: true,
    },
    {
      name: "v12 rule 1.4: additional_creators of valid user IDs is allowed",
      versions: ["12"],
      event: (r) => createIn(r.version.id, { additional_creators: [CAROL, EVE] }),
      allowed: true,
    },
    {
      name: "v12 rule 1.4: additional_creators that is not an array is rejected",
      versions: ["12"],
      event: (r) => createIn(r.version.id, { additional_creators: CAROL }),
      allowed: false,
      reason: /additional_creators/,
    },
    {
      name: "v12 rule 1.4: additional_creators holding an invalid user ID is rejected",
      versions: ["12"],
      event: (r) => createIn(r.version.id, { additional_creators: [CAROL, "carol"] }),
      allowed: false,
      reason: /additional_creators/,
    },
    {
      name: "v12 rule 1.4: additional_creators holding a non-string is rejected",
      versions: ["12"],
      event: (r) => createIn(r.version.id, { additional_creators: [CAROL, 7] }),
      allowed: false,
    },
    {
      name: "before v12, additional_creators means nothing to the rules",
      versions: versionsBetween(1, 11),
      event: (r) => createIn(r.version.id, { ...validContent(r.version.id), additional_creators: "junk" }),
      allowed: true,
    },
  ];
  runAuthCases(cases, it);
});

describe("the room's create event (v1 rule 2.4/2.5, v12 rule 2)", () => {
  const message = { type: "m.room.message", sender: CAROL, content: { body: "hi" } };
  const cases: AuthCase[] = [
    { name: "an event of the room is allowed", versions: ALL_VERSIONS, event: () => message, allowed: true },
    {
      name: "without an m.room.create event in the state, reject",
      versions: ALL_VERSIONS,
      room: (id) => {
        const room = new TestRoom(id);
        return room.remove("m.room.create", "");
      },
      event: () => message,
      allowed: false,
      reason: /m\.room\.create/,
    },
    {
      name: "v12 rule 2: a room_id that is not the create event's ID is rejected",
      versions: ["12"],
      event: () => ({ ...message, roomId: "!someotherroom" }),
      allowed: false,
      reason: /room_id/,
    },
    {
      name: "a create event of another room is rejected",
      versions: versionsBetween(1, 11),
      event: () => ({ ...message, roomId: "!other:example.org" }),
      allowed: false,
      reason: /another room/,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.federate (v1 rule 3, v12 rule 4)", () => {
  const noFederation = (id: string) => {
    const v = version(id);
    const create = makeCreate(v, { content: { "m.federate": false, ...(v.creatorInContent ? { creator: ALICE } : {}) } });
    return new TestRoom(id, { create, joinRule: "public", members: { [ALICE]: "join", [EVE]: "join", [CAROL]: "join" } });
  };
  const cases: AuthCase[] = [
    {
      name: "a remote sender in a room that does not federate is rejected",
      versions: ALL_VERSIONS,
      room: noFederation,
      event: () => ({ type: "m.room.message", sender: EVE, content: {} }),
      allowed: false,
      reason: /federate/,
    },
    {
      name: "a local sender in a room that does not federate is allowed",
      versions: ALL_VERSIONS,
      room: noFederation,
      event: () => ({ type: "m.room.message", sender: CAROL, content: {} }),
      allowed: true,
    },
    {
      name: "a remote sender in a federating room is allowed",
      versions: ALL_VERSIONS,
      room: (id) => new TestRoom(id, { members: { [ALICE]: "join", [EVE]: "join" } }),
      event: () => ({ type: "m.room.message", sender: EVE, content: {} }),
      allowed: true,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.aliases (v1-v5 rule 4)", () => {
  const cases: AuthCase[] = [
    {
      name: "v1-v5: an alias event for the sender's own domain is allowed, even from a non-member",
      versions: versionsBetween(1, 5),
      event: () => ({ type: "m.room.aliases", sender: EVE, stateKey: "elsewhere.test", content: { aliases: [] } }),
      allowed: true,
    },
    {
      name: "v1-v5: an alias event for another domain is rejected",
      versions: versionsBetween(1, 5),
      event: () => ({ type: "m.room.aliases", sender: ALICE, stateKey: "elsewhere.test", content: { aliases: [] } }),
      allowed: false,
      reason: /domain/,
    },
    {
      name: "v1-v5: an alias event without a state_key is rejected",
      versions: versionsBetween(1, 5),
      event: () => ({ type: "m.room.aliases", sender: ALICE, content: { aliases: [] } }),
      allowed: false,
      reason: /state_key/,
    },
    {
      name: "v6+: an alias event from a non-member is rejected like any state event",
      versions: versionsBetween(6, 12),
      event: () => ({ type: "m.room.aliases", sender: EVE, stateKey: "elsewhere.test", content: { aliases: [] } }),
      allowed: false,
      reason: /not joined/,
    },
    {
      name: "v6+: an alias event for another domain is allowed from a member with the state level",
      versions: versionsBetween(6, 12),
      event: () => ({ type: "m.room.aliases", sender: ALICE, stateKey: "elsewhere.test", content: { aliases: [] } }),
      allowed: true,
    },
  ];
  runAuthCases(cases, it);
});
