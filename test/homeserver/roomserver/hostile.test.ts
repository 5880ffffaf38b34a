// Hostile input: every kind is refused or rejected with a reason, nothing throws, and the room's
// queue goes on (a good event after each is accepted).
import assert from "node:assert/strict";
import { it } from "node:test";
import { keyFor, createLocalRoom, eventIdOf, key, local, placeRemoteEvent, remote, RemoteServer, remoteKey, REMOTE, startRoomserver, version } from "./harness.ts";
import type { TestEngine } from "./harness.ts";
import type { InputResult } from "../../../src/homeserver/roomserver/index.ts";
import { forEachEngine } from "../../storage/engines.ts";
import type { Pdu } from "../../../src/core/events/room-event.ts";

const alice = local("alice");
const bob = remote("bob");

/** A v11 room of alice's that bob (of the remote server) has joined. */
async function roomWithBob(engine: TestEngine, roomVersion = "11"): Promise<{ roomId: string; server: RemoteServer }> {
  const { roomId } = await createLocalRoom(engine.roomserver, roomVersion);
  const server = new RemoteServer(REMOTE, remoteKey, version(roomVersion));
  const join = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } });
  assert.equal((await engine.roomserver.input({ kind: "new", pdu: join })).outcome, "accepted");
  return { roomId, server };
}

function reasonOf(result: InputResult): string {
  return "reason" in result ? result.reason : "";
}

async function stillWorks(engine: TestEngine, roomId: string, server: RemoteServer): Promise<void> {
  const pdu = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { body: "still here" } });
  const result = await engine.roomserver.input({ kind: "new", pdu });
  assert.equal(result.outcome, "accepted", reasonOf(result));
}

function tamperSignature(pdu: Pdu, server: string): Pdu {
  const signatures = structuredClone(pdu["signatures"]) as Record<string, Record<string, string>>;
  const forServer = signatures[server] as Record<string, string>;
  for (const keyId of Object.keys(forServer)) {
    const s = forServer[keyId] as string;
    forServer[keyId] = (s[0] === "A" ? "B" : "A") + s.slice(1);
  }
  return { ...pdu, signatures };
}

forEachEngine("roomserver: hostile input", (getDb) => {
  it("drops events with bad signatures, or none from a key it knows", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine);
    const good = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { body: "hi" } });
    const tampered = await engine.roomserver.input({ kind: "new", pdu: tamperSignature(good, REMOTE) });
    assert.equal(tampered.outcome, "refused");
    assert.match(reasonOf(tampered), /bad signature from remote\.test/);
    const stranger = new RemoteServer(REMOTE, keyFor(99, "other"), version("11"));
    const unknownKey = await placeRemoteEvent(engine.roomserver, stranger, roomId, { type: "m.room.message", sender: bob, content: { body: "hi" } });
    const result = await engine.roomserver.input({ kind: "new", pdu: unknownKey });
    assert.equal(result.outcome, "refused");
    assert.match(reasonOf(result), /no signature from a known key of remote\.test/);
    const unsigned = { ...good, signatures: {} };
    assert.match(reasonOf(await engine.roomserver.input({ kind: "new", pdu: unsigned })), /no signature from remote\.test/);
    assert.equal(await engine.roomserver.getEvent(eventIdOf(good, version("11"))), undefined);
    await stillWorks(engine, roomId, server);
  });

  it("redacts an event whose content hash does not match, and goes on with it", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine);
    const pdu = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { body: "the original" } });
    // The signature covers the redacted form only: changing the content keeps it valid.
    const altered = { ...pdu, content: { body: "something else entirely" } };
    const result = await engine.roomserver.input({ kind: "new", pdu: altered });
    assert.equal(result.outcome, "accepted", reasonOf(result));
    assert.equal(result.outcome === "accepted" && result.redactedOnReceipt, true);
    const stored = await engine.roomserver.getEvent(eventIdOf(pdu, version("11")));
    assert.deepEqual(stored?.event.content, {});
    assert.deepEqual((await engine.roomserver.forwardExtremities(roomId)), [stored?.event.eventId]);
    await stillWorks(engine, roomId, server);
  });

  it("refuses events whose auth events are missing, and rejects wrong ones", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine);
    const current = await engine.roomserver.currentState(roomId);
    const missing = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: {} }, {
      authEvents: [current?.get(key("m.room.power_levels")) as string, "$doesNotExistAnywhere0000000000000000000000"],
    });
    const refused = await engine.roomserver.input({ kind: "new", pdu: missing });
    assert.equal(refused.outcome, "refused");
    assert.match(reasonOf(refused), /missing auth events/);
    // An auth event the selection does not allow (the join rules, for a message).
    const wrong = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: {} }, {
      authEvents: [current?.get(key("m.room.power_levels")) as string, current?.get(key("m.room.member", bob)) as string, current?.get(key("m.room.join_rules")) as string],
    });
    const rejected = await engine.roomserver.input({ kind: "new", pdu: wrong });
    assert.equal(rejected.outcome, "rejected");
    assert.match(reasonOf(rejected), /by its auth events/);
    const stored = await engine.roomserver.getEvent(rejected.eventId ?? "");
    assert.ok(stored?.rejectedReason);
    assert.ok(!(await engine.roomserver.forwardExtremities(roomId)).includes(rejected.eventId as string));
    await stillWorks(engine, roomId, server);
  });

  it("rejects events that claim power their sender does not have", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine);
    const grab = await placeRemoteEvent(engine.roomserver, server, roomId, {
      type: "m.room.power_levels",
      stateKey: "",
      sender: bob,
      content: { users: { [alice]: 100, [bob]: 100 } },
    });
    const result = await engine.roomserver.input({ kind: "new", pdu: grab });
    assert.equal(result.outcome, "rejected");
    assert.match(reasonOf(result), /power level/);
    const topic = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.name", stateKey: "", sender: bob, content: { name: "mine" } }, {});
    // Sending state needs power 50 (state_default) by default.
    assert.equal((await engine.roomserver.input({ kind: "new", pdu: topic })).outcome, "rejected");
    const current = await engine.roomserver.currentState(roomId);
    assert.equal(current?.get(key("m.room.name")), undefined);
    assert.notEqual(current?.get(key("m.room.power_levels")), result.eventId);
    await stillWorks(engine, roomId, server);
  });

  it("refuses oversized and malformed events", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine);
    const big = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { body: "x".repeat(70_000) } });
    const tooBig = await engine.roomserver.input({ kind: "new", pdu: big });
    assert.equal(tooBig.outcome, "refused");
    assert.match(reasonOf(tooBig), /too_large/);
    for (const pdu of [{ room_id: roomId }, { ...big, content: "text" }, { ...big, room_id: 42 }, { type: "m.room.message" }] as Pdu[]) {
      assert.equal((await engine.roomserver.input({ kind: "new", pdu })).outcome, "refused");
    }
    await stillWorks(engine, roomId, server);
  });

  it("rejects events from users of a server not in the room", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine);
    const evil = new RemoteServer("evil.test", keyFor(7), version("11"));
    engine.keyRing.addSigningKey("evil.test", keyFor(7));
    const eve = "@eve:evil.test";
    const message = await placeRemoteEvent(engine.roomserver, evil, roomId, { type: "m.room.message", sender: eve, content: { body: "let me in" } });
    const result = await engine.roomserver.input({ kind: "new", pdu: message });
    assert.equal(result.outcome, "rejected");
    assert.match(reasonOf(result), /not joined/);
    // A member event for someone else is not a way in either.
    const invite = await placeRemoteEvent(engine.roomserver, evil, roomId, { type: "m.room.member", stateKey: bob, sender: eve, content: { membership: "leave" } });
    assert.equal((await engine.roomserver.input({ kind: "new", pdu: invite })).outcome, "rejected");
    await stillWorks(engine, roomId, server);
  });

  it("refuses events whose prev_events are missing, or would make a cycle (room version 1)", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine, "1");
    const state = await engine.roomserver.currentState(roomId);
    const dangling = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: {} }, { prevEvents: ["$missing:remote.test"] });
    const missing = await engine.roomserver.input({ kind: "new", pdu: dangling });
    assert.equal(missing.outcome, "refused");
    assert.match(reasonOf(missing), /missing prev_events/);
    // v1 event IDs are chosen by the sender: an event may name itself.
    const selfish = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: {} }, {
      extra: { event_id: "$self:remote.test" },
      prevEvents: ["$self:remote.test"],
    });
    assert.match(reasonOf(await engine.roomserver.input({ kind: "new", pdu: selfish })), /cites itself/);
    // A cites B (not known, so the state before A is supplied); then B cites A.
    const a = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { n: 1 } }, {
      extra: { event_id: "$a:remote.test" },
      prevEvents: ["$b:remote.test"],
      depth: 100,
    });
    const first = await engine.roomserver.input({ kind: "new", pdu: a, stateBefore: state });
    assert.equal(first.outcome, "accepted", reasonOf(first));
    const b = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { n: 2 } }, {
      extra: { event_id: "$b:remote.test" },
      prevEvents: ["$a:remote.test"],
    });
    const cycle = await engine.roomserver.input({ kind: "new", pdu: b });
    assert.equal(cycle.outcome, "refused");
    assert.match(reasonOf(cycle), /cycle/);
    await stillWorks(engine, roomId, server);
  });

  it("refuses depths over the room version's limit, and holds our own at it", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine);
    // From v6 canonical JSON stops at 2^53 - 1, so no server can even sign a deeper event.
    const signed = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: {} });
    const over = await engine.roomserver.input({ kind: "new", pdu: { ...signed, depth: 2 ** 53 } });
    assert.equal(over.outcome, "refused");
    assert.match(reasonOf(over), /not_canonical_json/);
    const atLimit = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: {} }, { depth: Number.MAX_SAFE_INTEGER });
    const accepted = await engine.roomserver.input({ kind: "new", pdu: atLimit });
    assert.equal(accepted.outcome, "accepted", reasonOf(accepted));
    const ours = await engine.roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: alice, content: { body: "deep" } });
    assert.equal((await engine.roomserver.getEvent(ours.eventId))?.event.depth, Number.MAX_SAFE_INTEGER);

    // Room version 4 allows depths up to 2^63 - 1, which a JS number cannot hold: 2^63 is over.
    const old = startRoomserver(getDb());
    const v4 = await roomWithBob(old, "4");
    const huge = await placeRemoteEvent(old.roomserver, v4.server, v4.roomId, { type: "m.room.message", sender: bob, content: {} }, { depth: 2 ** 63 });
    const refused = await old.roomserver.input({ kind: "new", pdu: huge });
    assert.equal(refused.outcome, "refused");
    assert.match(reasonOf(refused), /depth/);
    await stillWorks(old, v4.roomId, v4.server);
  });

  it("keeps the queue going under a burst of garbage mixed with good events", async () => {
    const engine = startRoomserver(getDb());
    const { roomId, server } = await roomWithBob(engine);
    const good = await placeRemoteEvent(engine.roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { body: "good" } });
    const inputs: Array<Promise<InputResult>> = [];
    for (let i = 0; i < 30; i++) {
      const garbage: Pdu = i % 3 === 0 ? { ...good, depth: -1 } : i % 3 === 1 ? tamperSignature(good, REMOTE) : { ...good, auth_events: ["$nope"] };
      inputs.push(engine.roomserver.input({ kind: "new", pdu: garbage }));
    }
    inputs.push(engine.roomserver.input({ kind: "new", pdu: good }));
    const results = await Promise.all(inputs);
    assert.equal(results.filter((r) => r.outcome === "refused").length, 30);
    assert.equal(results.at(-1)?.outcome, "accepted");
    await stillWorks(engine, roomId, server);
  });
});
