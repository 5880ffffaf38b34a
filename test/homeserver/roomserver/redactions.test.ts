// Redactions per room version (rooms/fragments/v3-handling-redactions.md; v1-auth-rules.md rule 11),
// served in redacted form, and the original content purged after the retention.
import assert from "node:assert/strict";
import { it } from "node:test";
import { forEachEngine } from "../../storage/engines.ts";
import { createLocalRoom, local, placeRemoteEvent, remote, REMOTE, RemoteServer, remoteKey, startRoomserver, version } from "./harness.ts";

const alice = local("alice");
const bob = remote("bob");
const DAY = 24 * 60 * 60 * 1000;

forEachEngine("roomserver: redactions", (getDb) => {
  for (const roomVersion of ["1", "10", "11"]) {
    it(`applies a moderator's redaction and serves the redacted form (v${roomVersion})`, async () => {
      let now = 1_900_000_000_000;
      const { roomserver, outputs } = startRoomserver(getDb(), { now: () => now });
      const { roomId } = await createLocalRoom(roomserver, roomVersion);
      const carol = local("carol");
      await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: carol, sender: carol, content: { membership: "join" } });
      const message = await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: carol, content: { body: "regrettable" } });
      const v = version(roomVersion);
      const redaction = await roomserver.createLocalEvent({
        roomId,
        type: "m.room.redaction",
        sender: alice,
        content: v.redactsInContent ? { redacts: message.eventId } : {},
        redacts: v.redactsInContent ? undefined : message.eventId,
      });
      assert.ok(redaction.streamOrdering !== undefined, "an applied redaction goes to clients");
      const served = await roomserver.getEvent(message.eventId);
      assert.deepEqual(served?.event.content, {});
      assert.equal(served?.redactedBy, redaction.eventId);
      assert.ok(outputs.some((o) => o.kind === "redaction_applied" && o.redactedEventId === message.eventId));

      // The original content stays until the retention, then is purged from storage.
      const stored = async () => (await roomserver.store.getEvents([message.eventId])).get(message.eventId);
      assert.deepEqual((await stored())?.pdu["content"], { body: "regrettable" });
      assert.equal(await roomserver.purgeRedactedContent(now + DAY), 0);
      now += 8 * DAY;
      assert.ok((await roomserver.purgeRedactedContent()) >= 1);
      assert.deepEqual((await stored())?.pdu["content"], {});
      assert.equal((await stored())?.contentPurged, true);
      assert.deepEqual((await roomserver.getEvent(message.eventId))?.event.content, {});
    });
  }

  it("holds a redaction from another server back until it can apply, then applies it (v11)", async () => {
    const { roomserver, outputs } = startRoomserver(getDb());
    const v = version("11");
    const { roomId } = await createLocalRoom(roomserver, "11");
    const server = new RemoteServer(REMOTE, remoteKey, v);
    const join = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } });
    assert.equal((await roomserver.input({ kind: "new", pdu: join })).outcome, "accepted");
    const mine = await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: alice, content: { body: "alice's words" } });

    // Bob (power 0, another server) may not redact alice's event: accepted by the rules, never applied.
    const denied = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.redaction", sender: bob, content: { redacts: mine.eventId } });
    const deniedResult = await roomserver.input({ kind: "new", pdu: denied });
    assert.equal(deniedResult.outcome, "accepted");
    assert.equal(deniedResult.outcome === "accepted" && deniedResult.streamOrdering, undefined);
    assert.deepEqual((await roomserver.getEvent(mine.eventId))?.event.content, { body: "alice's words" });

    // Bob redacts his own event before we have it: held back, then applied when it comes.
    const own = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.message", sender: bob, content: { body: "oops" } });
    const ownId = (await import("./harness.ts")).eventIdOf(own, v);
    const early = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.redaction", sender: bob, content: { redacts: ownId } });
    const earlyResult = await roomserver.input({ kind: "new", pdu: early });
    assert.equal(earlyResult.outcome, "accepted");
    assert.equal(earlyResult.outcome === "accepted" && earlyResult.streamOrdering, undefined);
    const arrived = await roomserver.input({ kind: "new", pdu: own });
    assert.equal(arrived.outcome, "accepted");
    assert.deepEqual((await roomserver.getEvent(ownId))?.event.content, {});
    assert.ok((await roomserver.getEvent(earlyResult.eventId as string))?.streamOrdering !== undefined);
    const timeline = outputs.flatMap((o) => (o.kind === "new_room_event" ? [o.event.eventId] : []));
    assert.ok(timeline.indexOf(earlyResult.eventId as string) > timeline.indexOf(ownId));
    assert.ok(!timeline.includes(deniedResult.eventId as string));
  });
});
