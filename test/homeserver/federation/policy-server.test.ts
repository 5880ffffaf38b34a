// Policy servers across two Weft servers over TLS (server-server-api#policy-servers): a room on A
// names B as its policy server, B serving POST /_matrix/policy/v1/sign with a test stand-in (Weft
// is no policy server). A has its users' events signed before sending them, refuses those the
// policy server refuses, asks for the signature of B's events that lack it, and soft-fails those
// it refuses. B, named itself, uses none (as Synapse does).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeUnpaddedBase64 } from "../../../src/core/crypto/base64.ts";
import { signingKeyFromSeed } from "../../../src/core/crypto/ed25519.ts";
import { signJson } from "../../../src/core/crypto/signing.ts";
import { MatrixError } from "../../../src/core/errors.ts";
import { eventJsonOptions } from "../../../src/core/events/event-json.ts";
import { POLICY_SERVER_KEY_ID } from "../../../src/core/events/policy-server.ts";
import { redactEvent } from "../../../src/core/events/redaction.ts";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import { isJsonObject } from "../../../src/core/json.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { HttpReply } from "../../../src/http/endpoint.ts";
import type { AnyEndpoint } from "../../../src/http/endpoint.ts";
import { engines } from "../../storage/engines.ts";
import { Agent } from "undici";
import { clientOf } from "./client-api.ts";
import type { Client } from "./client-api.ts";
import { startFederatedServer, waitFor } from "./federated-server.ts";
import type { FederatedServer } from "./federated-server.ts";
import { createTestPki } from "./pki.ts";
import type { TestPki } from "./pki.ts";

const policyKey = signingKeyFromSeed(new Uint8Array(32).fill(21), "policy_server");
const SPAM = "The message appears to contain possible spam";

/** A stand-in policy server: signs every event but those saying "spam", and records who asked about what. */
function standInPolicyServer(name: () => string, asked: Array<{ origin: string | undefined; body: string | undefined }>): AnyEndpoint {
  return {
    name: "test.policy_server.sign",
    method: "POST",
    paths: ["/_matrix/policy/v1/sign"],
    resource: "federation",
    auth: "federation",
    handler: async (request) => {
      const pdu = request.body as Pdu;
      const content = isJsonObject(pdu["content"]) ? pdu["content"] : {};
      // A message's body, or a membership's reason.
      const text = content["body"] ?? content["reason"];
      const body = typeof text === "string" ? text : undefined;
      asked.push({ origin: request.origin, body });
      if (body?.includes("spam") === true) return HttpReply.json(400, { errcode: "M_FORBIDDEN", error: SPAM });
      const version = getRoomVersion("10");
      if (version === undefined) throw new Error("no room version 10");
      return signJson(redactEvent({ ...pdu, signatures: {} }, version), name(), policyKey, eventJsonOptions(version)).signatures;
    },
  };
}

for (const engine of engines) {
  describe(`federation: a room using a policy server [${engine}]`, () => {
    let pki: TestPki;
    let a: FederatedServer;
    let b: FederatedServer;
    const asked: Array<{ origin: string | undefined; body: string | undefined }> = [];
    let roomId: string;
    let alice: string;
    let bob: string;
    let agent: Agent;
    /** A user of A over the client API. */
    let dave: Client;

    before(async () => {
      pki = await createTestPki();
      a = await startFederatedServer(engine, pki, "localhost");
      b = await startFederatedServer(engine, pki, "127.0.0.1", { extraEndpoints: [standInPolicyServer(() => b.serverName, asked)] });
      alice = await a.register("alice");
      bob = await b.register("bob");
      roomId = await a.createRoom(alice, { preset: "public" });
      await b.services.federationRooms.remote.join(bob, roomId, [a.serverName], {});
      await a.state(roomId, alice, "m.room.policy", "", { via: b.serverName, public_keys: { ed25519: encodeUnpaddedBase64(policyKey.publicKey) } });
      await waitFor("B has the room's policy", async () => (await b.stateContent(roomId, "m.room.policy", "")) !== undefined);
      agent = new Agent({ connect: { ca: pki.caCert } });
      dave = await clientOf(a, "dave", agent);
    });
    after(async () => {
      await agent?.close();
      await a?.destroy();
      await b?.destroy();
      await pki?.cleanup();
    });

    const bodiesOn = async (server: FederatedServer): Promise<string[]> =>
      (await server.timeline(roomId)).filter((e) => e.type === "m.room.message").map((e) => String(e.content["body"]));

    it("has A's events signed by the policy server before they go out, and B takes them in", async () => {
      const eventId = await a.send(roomId, alice, "hello from A");
      assert.deepEqual(asked.at(-1), { origin: a.serverName, body: "hello from A" });
      const stored = (await a.services.roomserver.getEvent(eventId))?.event.pdu;
      const signatures = stored?.["signatures"] as Record<string, JsonObject> | undefined;
      assert.ok(signatures?.[b.serverName]?.[POLICY_SERVER_KEY_ID] !== undefined, "the policy server's signature is on the event");
      await waitFor("B has A's message", async () => (await bodiesOn(b)).includes("hello from A"));
      assert.equal((await b.services.roomserver.getEvent(eventId))?.softFailed, false);
    });

    it("refuses A's event the policy server refuses, with its error, and sends nothing", async () => {
      const before = await a.services.roomserver.forwardExtremities(roomId);
      await assert.rejects(a.send(roomId, alice, "spam from A"), (err: unknown) => {
        assert.ok(err instanceof MatrixError);
        assert.equal(err.errcode, "M_FORBIDDEN");
        assert.equal(err.message, SPAM);
        assert.equal(err.status, 403);
        return true;
      });
      assert.deepEqual(await a.services.roomserver.forwardExtremities(roomId), before);
    });

    it("asks for the signature of B's events, which B (named itself) sends without, and soft-fails those refused", async () => {
      const asking = asked.length;
      const fine = await b.send(roomId, bob, "hello from B");
      await waitFor("A has B's message", async () => (await bodiesOn(a)).includes("hello from B"));
      assert.equal((await a.services.roomserver.getEvent(fine))?.softFailed, false);
      assert.deepEqual(
        asked.slice(asking).map((x) => x.origin),
        [a.serverName],
        "B asked nothing of itself; A asked once",
      );

      const spam = await b.send(roomId, bob, "spam from B");
      await waitFor("A has B's spam stored", async () => (await a.services.roomserver.getEvent(spam)) !== undefined);
      assert.equal((await a.services.roomserver.getEvent(spam))?.softFailed, true);
      assert.ok(!(await bodiesOn(a)).includes("spam from B"), "A's timeline does not show it");
      assert.ok((await bodiesOn(b)).includes("spam from B"), "on B, which uses no policy server, it stands");
    });

    it("answers a client's send the policy server refuses with its error, and one it signs with the event ID", async () => {
      const path = (txn: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`;
      await dave.call("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
      const refused = await dave.request("PUT", path("t1"), { msgtype: "m.text", body: "spam from dave" });
      assert.equal(refused.status, 403);
      assert.deepEqual(refused.json, { errcode: "M_FORBIDDEN", error: SPAM });
      const sent = await dave.call("PUT", path("t2"), { msgtype: "m.text", body: "dave says hi" });
      assert.equal(typeof sent["event_id"], "string");
      await waitFor("B has dave's message", async () => (await bodiesOn(b)).includes("dave says hi"));
    });

    it("has an invite of another server's user signed by the policy server before it goes to that server", async () => {
      const erin = await b.register("erin");
      const frank = await b.register("frank");
      const invite = (userId: string, reason?: string) =>
        dave.request("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: userId, ...(reason === undefined ? {} : { reason }) });
      const refused = await invite(erin, "spam invite");
      assert.equal(refused.status, 403);
      assert.deepEqual(refused.json, { errcode: "M_FORBIDDEN", error: SPAM });
      assert.equal(await b.membership(roomId, erin), undefined, "B never heard of it");

      const asking = asked.length;
      assert.equal((await invite(frank)).status, 200);
      assert.deepEqual(asked.slice(asking), [{ origin: a.serverName, body: undefined }], "asked once: B handed the signature back");
      const inviteId = (await a.currentState(roomId))?.get(stateMapKey("m.room.member", frank));
      const stored = inviteId === undefined ? undefined : (await a.services.roomserver.getEvent(inviteId))?.event.pdu;
      const signatures = stored?.["signatures"] as Record<string, JsonObject> | undefined;
      assert.ok(signatures?.[b.serverName]?.[POLICY_SERVER_KEY_ID] !== undefined, "the stored invite carries the policy server's signature");
      await waitFor("B has the invite", async () => (await b.membership(roomId, frank)) === "invite");
    });

    it("is no policy server itself: its /_matrix/policy/v1/sign answers 404 M_UNRECOGNIZED", async () => {
      const pdu = (await a.timeline(roomId)).at(-1)?.pdu as Pdu;
      await assert.rejects(b.services.federation.client.post(a.serverName, "/_matrix/policy/v1/sign", pdu), (err: unknown) => {
        assert.ok(err instanceof FederationRequestError);
        assert.deepEqual([err.status, err.errcode], [404, "M_UNRECOGNIZED"]);
        return true;
      });
    });

    it("as the resident server of a join through it, asks for the joining member's signature", async () => {
      const carol = await b.register("carol");
      const asking = asked.length;
      await b.services.federationRooms.remote.join(carol, roomId, [a.serverName], {});
      assert.equal(await a.membership(roomId, carol), "join");
      assert.deepEqual(asked.slice(asking), [{ origin: a.serverName, body: undefined }]);
    });
  });
}
