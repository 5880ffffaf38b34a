import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import type { ServerResponse } from "node:http";
import type { ServerName } from "../../../src/core/identifiers/index.ts";
import { FederationClient } from "../../../src/homeserver/federation/client.ts";
import { systemResolver } from "../../../src/homeserver/federation/dns.ts";
import { EventTemplates } from "../../../src/homeserver/federation/event-template.ts";
import { FederationInvites } from "../../../src/homeserver/federation/invites.ts";
import { IpRangePolicy } from "../../../src/homeserver/federation/ip-ranges.ts";
import { RemoteMembership } from "../../../src/homeserver/federation/remote-membership.ts";
import { RoomReader } from "../../../src/homeserver/federation/room-reader.ts";
import { HttpsTransport } from "../../../src/homeserver/federation/transport.ts";
import { FederationInviteStore } from "../../../src/storage/stores/federation-invites.ts";
import { engines } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { startFederatedServer, waitFor, type FederatedServer } from "./federated-server.ts";
import { json, startStubServer, type RecordedRequest, type StubServer } from "./stub-server.ts";

// Sending to an older server: where the v2 invite, send_join and send_leave are unknown there
// (404 or 400 M_UNRECOGNIZED, or a bare 404), the v1 forms are used (invites-v2.yaml,
// joins-v2.yaml, leaving-v2.yaml). Server A talks to B through a stub that plays the older server:
// it answers the v2 endpoints itself and passes everything else on to B as sent.

type Refusal = "bare 404" | "404 M_UNRECOGNIZED" | "400 M_UNRECOGNIZED" | undefined;

for (const engine of engines) {
  describe(`v2 -> v1 fallbacks towards older servers [${engine}]`, () => {
    let pki: TestPki;
    let a: FederatedServer;
    let b: FederatedServer;
    let stub: StubServer;
    let transport: HttpsTransport;
    let client: FederationClient;
    /** How the stub answers the v2 endpoints; undefined passes them on to B. */
    let refusal: Refusal;

    const refuse = (res: ServerResponse): void => {
      if (refusal === "bare 404") {
        res.writeHead(404, { "content-type": "text/html" });
        res.end("<html>Not Found</html>");
      } else if (refusal === "404 M_UNRECOGNIZED") json(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
      else json(res, 400, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    };

    /** Passes a request on to B unchanged (its X-Matrix signature names B as the destination). */
    const forward = (req: RecordedRequest, res: ServerResponse): void => {
      const headers: Record<string, string> = { host: b.serverName };
      if (req.authorization !== undefined) headers["authorization"] = req.authorization;
      if (req.body !== "") headers["content-type"] = "application/json";
      const out = httpsRequest({ host: "127.0.0.1", port: b.port, method: req.method, path: req.url, headers, ca: pki.caCert }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          res.writeHead(answer.statusCode ?? 502, { "content-type": answer.headers["content-type"] ?? "application/json" });
          res.end(Buffer.concat(chunks));
        });
      });
      out.on("error", () => json(res, 502, { errcode: "M_UNKNOWN", error: "B unreachable" }));
      out.end(req.body === "" ? undefined : req.body);
    };

    const v2Paths = (): string[] => stub.requests.filter((r) => r.url.startsWith("/_matrix/federation/v2/")).map((r) => r.url.split("/")[4] ?? "");
    const v1Paths = (kind: string): RecordedRequest[] => stub.requests.filter((r) => r.url.startsWith(`/_matrix/federation/v1/${kind}/`));

    before(async () => {
      pki = await createTestPki();
      a = await startFederatedServer(engine, pki, "localhost");
      b = await startFederatedServer(engine, pki, "127.0.0.1");
      stub = await startStubServer(pki.issue(["localhost"], ["127.0.0.1"]), (req, res) => {
        if (refusal !== undefined && req.url.startsWith("/_matrix/federation/v2/")) refuse(res);
        else forward(req, res);
      });
      transport = new HttpsTransport({ resolver: systemResolver, ipRanges: new IpRangePolicy([], []), verifyCertificates: true, extraCaCertificates: [pki.caCert] });
      // A's requests to B go to the stub; everything else as usual.
      const real = a.services.federation.client;
      const viaStub = new FederationClient({
        serverName: a.serverName,
        signingKey: a.services.serverKeys.signingKey,
        discovery: { resolve: async (name: ServerName) => ({ targets: [{ host: "127.0.0.1", port: stub.port }], hostHeader: String(name) }) },
        transport,
      });
      // request and requestJson take the method first, the others the destination.
      client = new Proxy(real, {
        get: (target, prop) => {
          const own = Reflect.get(target, prop) as unknown;
          const stubbed = Reflect.get(viaStub, prop) as unknown;
          if (typeof own !== "function" || typeof stubbed !== "function") return own;
          return (...args: unknown[]) => {
            const destination = prop === "request" || prop === "requestJson" ? args[1] : args[0];
            return (destination === b.serverName ? stubbed.apply(viaStub, args) : own.apply(target, args)) as unknown;
          };
        },
      });
    });
    after(async () => {
      await stub?.close();
      await transport?.close();
      await a?.destroy();
      await b?.destroy();
      await pki?.cleanup();
    });
    beforeEach(() => {
      stub.requests.length = 0;
      refusal = undefined;
    });

    const invitesOfA = (): FederationInvites =>
      new FederationInvites({
        serverName: a.serverName,
        signingKey: a.services.serverKeys.signingKey,
        keys: a.services.federation.keyring,
        roomserver: a.services.roomserver,
        rooms: a.services.federationRooms.rooms,
        templates: new EventTemplates(new RoomReader(a.services.roomserver), a.serverName),
        sender: a.services.federationRooms.sender,
        store: new FederationInviteStore(a.services.db),
        client,
        userExists: (userId) => a.services.users.isUserIdTaken(userId),
      });
    const membershipOfA = (): RemoteMembership =>
      new RemoteMembership({
        serverName: a.serverName,
        signingKey: a.services.serverKeys.signingKey,
        client,
        roomserver: a.services.roomserver,
        reader: new RoomReader(a.services.roomserver),
        fetcher: a.services.federationRooms.fetcher,
        invites: a.services.federationRooms.invites,
      });

    for (const r of ["404 M_UNRECOGNIZED", "bare 404", "400 M_UNRECOGNIZED"] as const) {
      it(`invites with v1 when invite v2 answers ${r} (room version 1)`, async () => {
        const alice = await a.register(`alice${r.replace(/\W/g, "").toLowerCase()}`);
        const henry = await b.register(`henry${r.replace(/\W/g, "").toLowerCase()}`);
        const roomId = await a.createRoom(alice, { preset: "private", version: "1" });
        refusal = r;
        await invitesOfA().invite(roomId, alice, henry);
        assert.deepEqual(v2Paths(), ["invite"]);
        const v1 = v1Paths("invite");
        assert.equal(v1.length, 1);
        // The v1 body is the event itself, with the stripped state in unsigned.
        const body = JSON.parse(v1[0]?.body ?? "{}") as Record<string, unknown>;
        assert.equal(body["state_key"], henry);
        assert.ok(Array.isArray((body["unsigned"] as Record<string, unknown>)["invite_room_state"]));
        assert.equal(await a.membership(roomId, henry), "invite");
        const pending = await b.services.federationRooms.invites.pendingFor(henry);
        assert.deepEqual(pending.map((i) => i.roomId), [roomId]);
      });
    }

    it("does not use v1 for a room of version 3 and later, nor when v2 answers the server's own 404", async () => {
      const alice = await a.register("alice_v10");
      const henry = await b.register("henry_v10");
      const roomId = await a.createRoom(alice, { preset: "private", version: "10" });
      refusal = "404 M_UNRECOGNIZED";
      await assert.rejects(invitesOfA().invite(roomId, alice, henry), { errcode: "M_UNSUPPORTED_ROOM_VERSION" });
      assert.equal(v1Paths("invite").length, 0);
      assert.equal(await a.membership(roomId, henry), undefined);

      // B knows v2 and answers 404 M_NOT_FOUND for a user it does not have: that is the answer.
      refusal = undefined;
      stub.requests.length = 0;
      const old = await a.createRoom(alice, { preset: "private", version: "1" });
      await assert.rejects(invitesOfA().invite(old, alice, b.user("nobody")), { errcode: "M_NOT_FOUND" });
      assert.deepEqual(v2Paths(), ["invite"]);
      assert.equal(v1Paths("invite").length, 0);
    });

    it("uses invite v2 when the server knows it", async () => {
      const alice = await a.register("alice_v2");
      const henry = await b.register("henry_v2");
      const roomId = await a.createRoom(alice, { preset: "private", version: "10" });
      await invitesOfA().invite(roomId, alice, henry);
      assert.deepEqual(v2Paths(), ["invite"]);
      assert.equal(v1Paths("invite").length, 0);
      assert.equal(await a.membership(roomId, henry), "invite");
    });

    for (const r of ["bare 404", "400 M_UNRECOGNIZED"] as const) {
      it(`joins with send_join v1 and rejects an invite with send_leave v1 when v2 answers ${r}`, async () => {
        const tag = r.replace(/\W/g, "").toLowerCase();
        const bob = await b.register(`bob${tag}`);
        const roomId = await b.createRoom(bob, { preset: "public", version: "10" });
        await b.send(roomId, bob, "before the join");
        const carol = await a.register(`carol${tag}`);
        refusal = r;
        const joined = await membershipOfA().join(carol, roomId, [b.serverName]);
        assert.equal(joined.roomId, roomId);
        assert.deepEqual(v2Paths(), ["send_join"]);
        assert.equal(v1Paths("send_join").length, 1);
        assert.equal(await a.membership(roomId, carol), "join");
        await waitFor("B to see the join", async () => (await b.membership(roomId, carol)) === "join");

        // An invite from B to a room A is not in, rejected through B with send_leave v1.
        const dave = await a.register(`dave${tag}`);
        const other = await b.createRoom(bob, { preset: "private", version: "10" });
        refusal = undefined;
        await b.services.federationRooms.invites.invite(other, bob, dave);
        await waitFor("A to hold the invite", async () => (await a.services.federationRooms.invites.pendingFor(dave)).some((i) => i.roomId === other));
        stub.requests.length = 0;
        refusal = r;
        await membershipOfA().leave(dave, other, [b.serverName]);
        assert.deepEqual(v2Paths(), ["send_leave"]);
        assert.equal(v1Paths("send_leave").length, 1);
        await waitFor("B to see the rejection", async () => (await b.membership(other, dave)) === "leave");
      });
    }
  });
}
