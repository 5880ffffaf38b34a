import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ALICE, ALL_VERSIONS, BOB, CAROL, DAVE, EVE, TestRoom, makeCreate, version, versionsBetween } from "./fixtures.ts";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { authEventsSelection, checkAuthEventsList } from "../../../src/core/auth/index.ts";

const key = (pair: readonly [string, string]) => `${pair[0]}|${pair[1]}`;
function selection(versionId: string, event: { type: string; stateKey?: string; sender: string; content?: JsonObject }): string[] {
  return authEventsSelection({ type: event.type, stateKey: event.stateKey, sender: event.sender, content: event.content ?? {} }, version(versionId))
    .map(key)
    .sort();
}

describe("authEventsSelection (server-server-api#auth-events-selection)", () => {
  it("an m.room.create event has no auth events", () => {
    for (const id of ALL_VERSIONS) assert.deepEqual(selection(id, { type: "m.room.create", stateKey: "", sender: ALICE }), []);
  });

  it("a message: create (not in v12), power levels, the sender's membership", () => {
    for (const id of ALL_VERSIONS) {
      const expected = [`m.room.member|${CAROL}`, "m.room.power_levels|"];
      if (!version(id).roomIdFromCreateEvent) expected.push("m.room.create|");
      assert.deepEqual(selection(id, { type: "m.room.message", sender: CAROL }), expected.sort(), `v${id}`);
    }
  });

  it("a join: the target's membership once when it is the sender, and the join rules", () => {
    assert.deepEqual(selection("10", { type: "m.room.member", stateKey: DAVE, sender: DAVE, content: { membership: "join" } }), [
      "m.room.create|",
      "m.room.join_rules|",
      `m.room.member|${DAVE}`,
      "m.room.power_levels|",
    ]);
  });

  it("an invite and a knock need the join rules; a leave and a ban do not", () => {
    for (const [membership, withJoinRules] of [["invite", true], ["knock", true], ["leave", false], ["ban", false]] as const) {
      const pairs = selection("12", { type: "m.room.member", stateKey: DAVE, sender: BOB, content: { membership } });
      assert.equal(pairs.includes("m.room.join_rules|"), withJoinRules, membership);
      assert.ok(pairs.includes(`m.room.member|${DAVE}`) && pairs.includes(`m.room.member|${BOB}`));
    }
  });

  it("an invite with third_party_invite: the m.room.third_party_invite of its token", () => {
    const content = { membership: "invite", third_party_invite: { signed: { mxid: DAVE, token: "tok", signatures: {} } } };
    assert.ok(selection("5", { type: "m.room.member", stateKey: DAVE, sender: CAROL, content }).includes("m.room.third_party_invite|tok"));
    const noToken = { membership: "invite", third_party_invite: { signed: { mxid: DAVE } } };
    assert.ok(!selection("5", { type: "m.room.member", stateKey: DAVE, sender: CAROL, content: noToken }).some((p) => p.startsWith("m.room.third_party_invite")));
  });

  it("a join with join_authorised_via_users_server: that user's membership, from v8", () => {
    const content = { membership: "join", join_authorised_via_users_server: BOB };
    for (const id of ALL_VERSIONS) {
      const pairs = selection(id, { type: "m.room.member", stateKey: EVE, sender: EVE, content });
      assert.equal(pairs.includes(`m.room.member|${BOB}`), version(id).restrictedJoins, `v${id}`);
    }
    const invite = { membership: "invite", join_authorised_via_users_server: BOB };
    assert.ok(!selection("10", { type: "m.room.member", stateKey: EVE, sender: CAROL, content: invite }).includes(`m.room.member|${BOB}`));
  });
});

describe("checkAuthEventsList (v1 rule 2, v12 rule 3)", () => {
  function setup(versionId: string) {
    const room = new TestRoom(versionId);
    const state = (type: string, stateKey: string) => room.lookup(type, stateKey) as RoomEvent;
    const citing = (authEvents: RoomEvent[], spec: Partial<Parameters<TestRoom["event"]>[0]> = {}) =>
      room.event({ type: "m.room.message", sender: CAROL, content: {}, ...spec, authEventIds: authEvents.map((e) => e.eventId) });
    const base = (): RoomEvent[] => {
      const events = [state("m.room.power_levels", ""), state("m.room.member", CAROL)];
      if (!room.version.roomIdFromCreateEvent) events.push(state("m.room.create", ""));
      return events;
    };
    return { room, state, citing, base };
  }

  it("the selected auth events are allowed", () => {
    for (const id of ALL_VERSIONS) {
      const { citing, base } = setup(id);
      const authEvents = base();
      assert.deepEqual(checkAuthEventsList(citing(authEvents), authEvents), { allowed: true }, `v${id}`);
    }
  });

  it("fewer auth events than selected are allowed (each only 'if any')", () => {
    for (const id of versionsBetween(1, 12)) {
      const { citing, state, room } = setup(id);
      const authEvents = room.version.roomIdFromCreateEvent ? [] : [state("m.room.create", "")];
      assert.equal(checkAuthEventsList(citing(authEvents), authEvents).allowed, true, `v${id}`);
    }
  });

  it("rule 2.1: two events for one (type, state_key) are rejected", () => {
    for (const id of ALL_VERSIONS) {
      const { citing, base, room } = setup(id);
      const second = room.event({ type: "m.room.power_levels", sender: ALICE, stateKey: "", content: {} });
      const authEvents = [...base(), second];
      const result = checkAuthEventsList(citing(authEvents), authEvents);
      assert.equal(result.allowed, false);
      assert.match((result as { reason: string }).reason, /duplicate/);
    }
  });

  it("rule 2.1: the same event cited twice is rejected", () => {
    const { room, base } = setup("10");
    const authEvents = base();
    const event = room.event({ type: "m.room.message", sender: CAROL, content: {}, authEventIds: [...authEvents.map((e) => e.eventId), authEvents[0]!.eventId] });
    assert.equal(checkAuthEventsList(event, authEvents).allowed, false);
  });

  it("rule 2.2: an entry the selection does not pick is rejected", () => {
    for (const id of ALL_VERSIONS) {
      const { citing, base, state } = setup(id);
      const authEvents = [...base(), state("m.room.join_rules", "")];
      const result = checkAuthEventsList(citing(authEvents), authEvents);
      assert.equal(result.allowed, false, `v${id}`);
      assert.match((result as { reason: string }).reason, /may cite/);
    }
  });

  it("rule 2.2: another member's event is rejected on a message", () => {
    const { citing, base, state } = setup("9");
    const authEvents = [...base(), state("m.room.member", BOB)];
    assert.equal(checkAuthEventsList(citing(authEvents), authEvents).allowed, false);
  });

  it("rule 2.2: join rules and the target's membership are allowed on a join", () => {
    const { room, state } = setup("9");
    room.member(DAVE, "invite");
    const authEvents = [state("m.room.create", ""), state("m.room.power_levels", ""), state("m.room.join_rules", ""), state("m.room.member", DAVE)];
    const event = room.event({ type: "m.room.member", sender: DAVE, stateKey: DAVE, content: { membership: "join" }, authEventIds: authEvents.map((e) => e.eventId) });
    assert.deepEqual(checkAuthEventsList(event, authEvents), { allowed: true });
  });

  it("rule 2.4 (v1-v11): without the create event, reject", () => {
    for (const id of versionsBetween(1, 11)) {
      const { citing, state } = setup(id);
      const authEvents = [state("m.room.power_levels", ""), state("m.room.member", CAROL)];
      const result = checkAuthEventsList(citing(authEvents), authEvents);
      assert.equal(result.allowed, false, `v${id}`);
      assert.match((result as { reason: string }).reason, /no m\.room\.create/);
    }
  });

  it("v12 rule 3.2: citing the create event is rejected", () => {
    const { citing, base, state } = setup("12");
    const authEvents = [...base(), state("m.room.create", "")];
    const result = checkAuthEventsList(citing(authEvents), authEvents);
    assert.equal(result.allowed, false);
    assert.match((result as { reason: string }).reason, /m\.room\.create/);
  });

  it("rule 2.5: an auth event of another room is rejected", () => {
    for (const id of ALL_VERSIONS) {
      const { citing, base, room } = setup(id);
      const v = room.version;
      const otherCreate = makeCreate(v);
      const foreign = room.event({ type: "m.room.power_levels", sender: ALICE, stateKey: "", content: {}, roomId: otherCreate.roomId });
      const authEvents = [...base().filter((e) => e.type !== "m.room.power_levels"), foreign];
      const result = checkAuthEventsList(citing(authEvents), authEvents);
      assert.equal(result.allowed, false, `v${id}`);
      assert.match((result as { reason: string }).reason, /another room/);
    }
  });

  it("auth events must be exactly the cited ones", () => {
    const { room, base } = setup("10");
    const authEvents = base();
    const missing = room.event({ type: "m.room.message", sender: CAROL, content: {}, authEventIds: [...authEvents.map((e) => e.eventId), "$missing"] });
    assert.match((checkAuthEventsList(missing, authEvents) as { reason: string }).reason, /not supplied/);
    const uncited = room.event({ type: "m.room.message", sender: CAROL, content: {}, authEventIds: authEvents.slice(1).map((e) => e.eventId) });
    assert.match((checkAuthEventsList(uncited, authEvents) as { reason: string }).reason, /not among/);
  });

  it("a non-state auth event is rejected", () => {
    const { citing, base, room } = setup("10");
    const message = room.event({ type: "m.room.message", sender: CAROL, content: {} });
    const authEvents = [...base(), message];
    assert.equal(checkAuthEventsList(citing(authEvents), authEvents).allowed, false);
  });

  it("an m.room.create event is decided by rule 1, before the list rules", () => {
    for (const id of ALL_VERSIONS) {
      const create = makeCreate(version(id));
      assert.deepEqual(checkAuthEventsList(create, []), { allowed: true });
    }
  });

  it("a third-party invite may cite the m.room.third_party_invite of its token", () => {
    const { room, state } = setup("6");
    room.setState("m.room.third_party_invite", "tok", { public_key: "x" }, CAROL);
    const authEvents = [state("m.room.create", ""), state("m.room.power_levels", ""), state("m.room.member", CAROL), state("m.room.join_rules", ""), state("m.room.third_party_invite", "tok")];
    const content = { membership: "invite", third_party_invite: { signed: { mxid: DAVE, token: "tok" } } };
    const event = room.event({ type: "m.room.member", sender: CAROL, stateKey: DAVE, content, authEventIds: authEvents.map((e) => e.eventId) });
    assert.deepEqual(checkAuthEventsList(event, authEvents), { allowed: true });
  });
});
