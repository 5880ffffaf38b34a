// Rooms using a policy server (server-server-api#policy-servers): our events are signed by it before
// they are stored and sent, received ones without its signature are asked for it and soft failed
// when it does not sign, and a room whose m.room.policy is invalid, names us, or names a server
// with nobody joined uses none.
import assert from "node:assert/strict";
import { it } from "node:test";
import { encodeUnpaddedBase64 } from "../../../src/core/crypto/base64.ts";
import { signingKeyFromSeed } from "../../../src/core/crypto/ed25519.ts";
import { signJson } from "../../../src/core/crypto/signing.ts";
import { MatrixError } from "../../../src/core/errors.ts";
import { eventJsonOptions } from "../../../src/core/events/event-json.ts";
import { POLICY_SERVER_KEY_ID, withPolicySignature } from "../../../src/core/events/policy-server.ts";
import { redactEvent } from "../../../src/core/events/redaction.ts";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import type { PolicyServerClient, Roomserver } from "../../../src/homeserver/roomserver/index.ts";
import type { Database } from "../../../src/storage/database.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { LOCAL, REMOTE, RemoteServer, createLocalRoom, local, placeRemoteEvent, remote, remoteKey, startRoomserver, version } from "./harness.ts";

const alice = local("alice");
const bob = remote("bob");
const v12 = version("12");
const policyKey = signingKeyFromSeed(new Uint8Array(32).fill(9), "policy_server");
const policyContent = (via: string): JsonObject => ({ via, public_keys: { ed25519: encodeUnpaddedBase64(policyKey.publicKey) } });

/** The policy server's signature of an event, as it answers it. */
function policySignature(pdu: Pdu, via = REMOTE): JsonObject {
  return signJson(redactEvent({ ...pdu, signatures: {} }, v12), via, policyKey, eventJsonOptions(v12)).signatures;
}

/** A policy server that signs what `verdict` lets through, and records what it was asked. */
class FakePolicyServer implements PolicyServerClient {
  readonly asked: Array<{ via: string; pdu: Pdu }> = [];
  verdict: (pdu: Pdu) => "sign" | "refuse" | "garbage" = () => "sign";

  async sign(via: string, pdu: Pdu): Promise<JsonObject> {
    this.asked.push({ via, pdu });
    const verdict = this.verdict(pdu);
    if (verdict === "refuse") throw new MatrixError("M_FORBIDDEN", "The message appears to contain possible spam", 403);
    if (verdict === "garbage") return { [via]: { [POLICY_SERVER_KEY_ID]: "AAAA" } };
    return policySignature(pdu, via);
  }
}

interface PolicyRoom {
  readonly roomserver: Roomserver;
  readonly policyServer: FakePolicyServer;
  readonly server: RemoteServer;
  readonly roomId: string;
}

/** A v12 room of ours that bob of REMOTE joined, with an m.room.policy naming `via` (none for null). */
async function policyRoom(db: Database, via: string | null = REMOTE, withClient = true): Promise<PolicyRoom> {
  const policyServer = new FakePolicyServer();
  const { roomserver } = startRoomserver(db, withClient ? { policyServers: policyServer } : {});
  const { roomId } = await createLocalRoom(roomserver, "12", alice);
  const server = new RemoteServer(REMOTE, remoteKey, v12);
  const join = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } });
  assert.equal((await roomserver.input({ kind: "new", pdu: join })).outcome, "accepted");
  if (via !== null) await roomserver.createLocalEvent({ roomId, type: "m.room.policy", stateKey: "", sender: alice, content: policyContent(via) });
  return { roomserver, policyServer, server, roomId };
}

function say(room: PolicyRoom, body: string): Promise<{ eventId: string }> {
  return room.roomserver.createLocalEvent({ roomId: room.roomId, type: "m.room.message", sender: alice, content: { msgtype: "m.text", body } });
}

async function storedPdu(roomserver: Roomserver, eventId: string): Promise<Pdu> {
  const info = await roomserver.getEvent(eventId);
  assert.ok(info !== undefined, `${eventId} is stored`);
  return info.event.pdu;
}

const signedBy = (pdu: Pdu, via: string): boolean => {
  const signatures = pdu["signatures"] as Record<string, Record<string, string>>;
  return signatures[via]?.[POLICY_SERVER_KEY_ID] !== undefined;
};

forEachEngine("roomserver: policy servers", (getDb) => {
  it("has our events signed by the policy server before storing them; the m.room.policy state event is not asked about", async () => {
    const room = await policyRoom(getDb());
    assert.equal(room.policyServer.asked.length, 0, "the m.room.policy event itself is never sent to be signed");
    const { eventId } = await say(room, "hello");
    assert.equal(room.policyServer.asked.length, 1);
    assert.equal(room.policyServer.asked[0]?.via, REMOTE);
    assert.equal(room.policyServer.asked[0]?.pdu["type"], "m.room.message");
    const pdu = await storedPdu(room.roomserver, eventId);
    assert.ok(signedBy(pdu, REMOTE), "the stored event carries the policy server's signature");
    assert.ok(signedBy(pdu, REMOTE) && (pdu["signatures"] as JsonObject)[LOCAL] !== undefined, "and ours");
    assert.deepEqual(await room.roomserver.forwardExtremities(room.roomId), [eventId]);

    // State events are signed too, and a non-state m.room.policy event.
    await room.roomserver.createLocalEvent({ roomId: room.roomId, type: "m.room.topic", stateKey: "", sender: alice, content: { topic: "t" } });
    await room.roomserver.createLocalEvent({ roomId: room.roomId, type: "m.room.policy", sender: alice, content: {} });
    assert.deepEqual(
      room.policyServer.asked.map((a) => a.pdu["type"]),
      ["m.room.message", "m.room.topic", "m.room.policy"],
    );
  });

  it("refuses our event the policy server refuses, with its error as it gave it, and stores nothing", async () => {
    const room = await policyRoom(getDb());
    const before = await room.roomserver.forwardExtremities(room.roomId);
    room.policyServer.verdict = () => "refuse";
    await assert.rejects(say(room, "buy now"), (err: unknown) => {
      assert.ok(err instanceof MatrixError);
      assert.equal(err.errcode, "M_FORBIDDEN");
      assert.equal(err.message, "The message appears to contain possible spam");
      assert.equal(err.status, 403);
      return true;
    });
    assert.deepEqual(await room.roomserver.forwardExtremities(room.roomId), before);
  });

  it("refuses our event with 502 when the policy server's signature does not verify, or none can be asked", async () => {
    const room = await policyRoom(getDb());
    room.policyServer.verdict = () => "garbage";
    await assert.rejects(say(room, "hello"), (err: unknown) => err instanceof MatrixError && err.status === 502);
    const unasked = await policyRoom(getDb(), REMOTE, false);
    await assert.rejects(say(unasked, "hello"), (err: unknown) => err instanceof MatrixError && err.status === 502);
  });

  it("the m.room.policy state event can always be sent, and emptying it turns the policy server off", async () => {
    const room = await policyRoom(getDb());
    room.policyServer.verdict = () => "refuse";
    await room.roomserver.createLocalEvent({ roomId: room.roomId, type: "m.room.policy", stateKey: "", sender: alice, content: {} });
    await say(room, "free again");
    assert.equal(room.policyServer.asked.length, 0);
  });

  it("uses no policy server when m.room.policy names this server, a server with nobody joined, or is invalid", async () => {
    for (const via of [LOCAL, "elsewhere.test", null]) {
      const room = await policyRoom(getDb(), via);
      await say(room, "hello");
      assert.equal(room.policyServer.asked.length, 0, String(via));
    }
    const invalid = await policyRoom(getDb(), null);
    await invalid.roomserver.createLocalEvent({ roomId: invalid.roomId, type: "m.room.policy", stateKey: "", sender: alice, content: { via: REMOTE } });
    await say(invalid, "hello");
    assert.equal(invalid.policyServer.asked.length, 0);
  });

  it("stops using the policy server once its server has nobody joined", async () => {
    const room = await policyRoom(getDb());
    const leave = await placeRemoteEvent(room.roomserver, room.server, room.roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "leave" } });
    // bob's leave needs the policy server's signature as any event: signed, it is taken in.
    const [signed] = await room.roomserver.signReceived(room.roomId, [leave]);
    assert.equal((await room.roomserver.input({ kind: "new", pdu: signed as Pdu })).outcome, "accepted");
    const asked = room.policyServer.asked.length;
    await say(room, "nobody checks this");
    assert.equal(room.policyServer.asked.length, asked);
  });

  it("takes in a received event the policy server signed, and soft-fails one it did not", async () => {
    const room = await policyRoom(getDb());
    const message = (body: string) =>
      placeRemoteEvent(room.roomserver, room.server, room.roomId, { type: "m.room.message", sender: bob, content: { msgtype: "m.text", body } });

    // Signed already: taken in without asking.
    const presigned = await message("signed by bob's server");
    const withSignature = withPolicySignature(presigned, REMOTE, policySignature(presigned)) as Pdu;
    const [kept] = await room.roomserver.signReceived(room.roomId, [withSignature]);
    assert.equal(room.policyServer.asked.length, 0);
    assert.equal((await room.roomserver.input({ kind: "new", pdu: kept as Pdu })).outcome, "accepted");

    // Unsigned: asked for, then taken in.
    const unsigned = await message("bob's server did not ask");
    const [asked] = await room.roomserver.signReceived(room.roomId, [unsigned]);
    assert.equal(room.policyServer.asked.length, 1);
    assert.ok(signedBy(asked as Pdu, REMOTE));
    assert.equal((await room.roomserver.input({ kind: "new", pdu: asked as Pdu })).outcome, "accepted");

    // Refused: soft failed, out of the timeline and the forward extremities.
    room.policyServer.verdict = () => "refuse";
    const spam = await message("spam");
    const [unchanged] = await room.roomserver.signReceived(room.roomId, [spam]);
    assert.equal(unchanged, spam);
    const result = await room.roomserver.input({ kind: "new", pdu: unchanged as Pdu });
    assert.equal(result.outcome, "soft_failed");
    assert.match("reason" in result ? result.reason : "", /policy server/);
    assert.equal((await room.roomserver.getEvent(result.eventId as string))?.softFailed, true);
    assert.ok(!(await room.roomserver.forwardExtremities(room.roomId)).includes(result.eventId as string));
  });

  it("soft-fails a received event whose policy signature was made with another key", async () => {
    const room = await policyRoom(getDb());
    room.policyServer.verdict = () => "garbage";
    const pdu = await placeRemoteEvent(room.roomserver, room.server, room.roomId, { type: "m.room.message", sender: bob, content: { msgtype: "m.text", body: "x" } });
    const other = signingKeyFromSeed(new Uint8Array(32).fill(10), "policy_server");
    const forged = withPolicySignature(pdu, REMOTE, signJson(redactEvent({ ...pdu, signatures: {} }, v12), REMOTE, other, eventJsonOptions(v12)).signatures) as Pdu;
    const [after] = await room.roomserver.signReceived(room.roomId, [forged]);
    assert.equal(room.policyServer.asked.length, 1, "a signature that does not verify is asked for again");
    assert.equal((await room.roomserver.input({ kind: "new", pdu: after as Pdu })).outcome, "soft_failed");
  });

  it("asks nothing for received events of a room without a policy server", async () => {
    const room = await policyRoom(getDb(), null);
    const pdu = await placeRemoteEvent(room.roomserver, room.server, room.roomId, { type: "m.room.message", sender: bob, content: { msgtype: "m.text", body: "x" } });
    const [same] = await room.roomserver.signReceived(room.roomId, [pdu]);
    assert.equal(same, pdu);
    assert.equal((await room.roomserver.input({ kind: "new", pdu })).outcome, "accepted");
    assert.equal(room.policyServer.asked.length, 0);
  });
});
