/**
 * Profiles of another server's users (client-server-api#profiles; server-server-api
 * #querying-for-information, query.yaml /query/profile): a client of A reads the profile of bob
 * of B, whole and field by field; A keeps the answer a while and sees bob's new name once it is
 * old; a user B does not know is 404; a server that cannot be reached, or does not answer, is 502
 * within a bounded time; and alice's invite of bob carries his name and avatar, or goes without
 * them when his profile cannot be had.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { Agent, fetch } from "undici";
import type { JsonObject } from "../../../src/core/json.ts";
import type { Requester } from "../../../src/http/endpoint.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { RemoteProfiles } from "../../../src/homeserver/profile/remote-profiles.ts";
import { engines } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { startFederatedServer, waitFor, type FederatedServer } from "./federated-server.ts";
import { freePort } from "./tls-homeserver.ts";

const enc = encodeURIComponent;
const requester = (userId: string): Requester => ({ userId, deviceId: undefined, isGuest: false, accessTokenId: undefined });

for (const engine of engines) {
  describe(`profiles of another server's users [${engine}]`, () => {
    let pki: TestPki;
    let a: FederatedServer;
    let b: FederatedServer;
    let agent: Agent;
    let token: string;
    let bob: string;
    /** A TCP server that takes connections and never answers. */
    let silent: Server;
    const sockets: Socket[] = [];

    /** A client request to A. */
    async function call(method: string, path: string, body?: JsonObject): Promise<{ status: number; json: JsonObject }> {
      const response = await fetch(`https://127.0.0.1:${a.port}${path}`, {
        method,
        dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as JsonObject };
    }
    const profile = (userId: string, key?: string) => call("GET", `/_matrix/client/v3/profile/${enc(userId)}${key === undefined ? "" : `/${enc(key)}`}`);
    const setOnB = (userId: string, key: string, value: string) => b.services.accounts.profiles.setField(requester(userId), userId, key, { [key]: value });

    before(async () => {
      pki = await createTestPki();
      agent = new Agent({ connect: { ca: pki.caCert } });
      a = await startFederatedServer(engine, pki, "localhost");
      b = await startFederatedServer(engine, pki, "127.0.0.1");
      const registered = await a.services.users.register({ localpart: "alice", password: undefined });
      token = registered.accessToken as string;
      bob = await b.register("bob");
      await setOnB(bob, "displayname", "Bob");
      await setOnB(bob, "avatar_url", "mxc://example.org/MyC00lAvatar");
      await b.services.accounts.profiles.setField(requester(bob), bob, "org.example.job", { "org.example.job": { title: "baker" } });
      silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent?.close(resolve));
      await a?.destroy();
      await b?.destroy();
      await agent?.close();
      await pki?.cleanup();
    });

    it("reads bob's whole profile and each field through his server; bob's profile is his own to change", async () => {
      const whole = await profile(bob);
      assert.equal(whole.status, 200, JSON.stringify(whole.json));
      assert.deepEqual(whole.json, { displayname: "Bob", avatar_url: "mxc://example.org/MyC00lAvatar", "org.example.job": { title: "baker" } });
      assert.deepEqual((await profile(bob, "displayname")).json, { displayname: "Bob" });
      assert.deepEqual((await profile(bob, "org.example.job")).json, { "org.example.job": { title: "baker" } });
      const unset = await profile(bob, "m.tz");
      assert.equal(unset.status, 404);
      assert.equal(unset.json["errcode"], "M_NOT_FOUND");
      const refused = await call("PUT", `/_matrix/client/v3/profile/${enc(bob)}/displayname`, { displayname: "Mallory" });
      assert.equal(refused.status, 403);
      assert.equal(refused.json["errcode"], "M_FORBIDDEN");
    });

    it("answers 404 M_NOT_FOUND for a user bob's server does not know", async () => {
      for (const key of [undefined, "displayname"]) {
        const missing = await profile(b.user("nobody"), key);
        assert.equal(missing.status, 404);
        assert.equal(missing.json["errcode"], "M_NOT_FOUND");
      }
    });

    it("keeps an answer until it is old, then shows bob's new name", async () => {
      let now = 1_000_000;
      const remote = new RemoteProfiles(a.services.federation.client, a.serverName, { ttlMs: 60_000, now: () => now });
      a.services.accounts.profiles.useRemote(remote);
      const carol = await b.register("carol");
      await setOnB(carol, "displayname", "Carol");
      assert.deepEqual((await profile(carol, "displayname")).json, { displayname: "Carol" });
      await setOnB(carol, "displayname", "Caroline");
      assert.deepEqual((await profile(carol, "displayname")).json, { displayname: "Carol" }, "kept");
      now += 60_000;
      assert.deepEqual((await profile(carol, "displayname")).json, { displayname: "Caroline" });
      assert.deepEqual((await profile(carol)).json, { displayname: "Caroline" });
    });

    it("asks again at once when the user's member event says their profile changed", async () => {
      // Kept for an hour: only the member event can make A ask again within the test.
      a.services.accounts.profiles.useRemote(new RemoteProfiles(a.services.federation.client, a.serverName, { ttlMs: 3_600_000 }));
      const grace = await b.register("grace");
      await setOnB(grace, "displayname", "Grace");
      const alice = a.user("alice");
      const roomId = await a.createRoom(alice);
      await b.services.federationRooms.remote.join(grace, roomId, [a.serverName], {});
      await waitFor("grace's join on A", async () => (await a.membership(roomId, grace)) === "join");
      assert.deepEqual((await profile(grace, "displayname")).json, { displayname: "Grace" });
      // B sends grace's new name to her rooms as a member event; A drops what it kept.
      await setOnB(grace, "displayname", "Grace H.");
      await waitFor("grace's new name on A", async () => (await a.stateContent(roomId, "m.room.member", grace))?.["displayname"] === "Grace H.");
      assert.deepEqual((await profile(grace, "displayname")).json, { displayname: "Grace H." });
    });

    it("answers 502 for a server that cannot be reached or does not answer in time", async () => {
      const closed = `@dave:127.0.0.1:${await freePort()}`;
      const unreachable = await profile(closed);
      assert.equal(unreachable.status, 502, JSON.stringify(unreachable.json));
      assert.equal(typeof unreachable.json["errcode"], "string");

      // A short timeout for the test's sake; the one wired in is 5 s.
      a.services.accounts.profiles.useRemote(new RemoteProfiles(a.services.federation.client, a.serverName, { timeoutMs: 500 }));
      const address = silent.address();
      assert.ok(address !== null && typeof address === "object");
      const mute = `@erin:127.0.0.1:${address.port}`;
      for (const key of [undefined, "displayname"]) {
        const answer = await profile(mute, key);
        assert.equal(answer.status, 502, JSON.stringify(answer.json));
      }
      assert.ok(sockets.length > 0, "the silent server was asked");
    });

    it("puts bob's name and avatar in alice's invite, and invites without them when they cannot be had", async () => {
      a.services.accounts.profiles.useRemote(new RemoteProfiles(a.services.federation.client, a.serverName));
      const created = await call("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat" });
      const roomId = created.json["room_id"] as string;
      assert.equal((await call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: bob })).status, 200);
      await waitFor("bob's invite on A", async () => (await a.membership(roomId, bob)) === "invite");
      const invite = await a.stateContent(roomId, "m.room.member", bob);
      assert.equal(invite?.["displayname"], "Bob");
      assert.equal(invite?.["avatar_url"], "mxc://example.org/MyC00lAvatar");

      // A's question about frank fails; the invite goes all the same.
      const failing = { get: () => Promise.reject(new FederationRequestError(b.serverName, "connection", "refused")) };
      a.services.accounts.profiles.useRemote(new RemoteProfiles(failing, a.serverName));
      const frank = await b.register("frank");
      await setOnB(frank, "displayname", "Frank");
      assert.equal((await call("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: frank })).status, 200);
      await waitFor("frank's invite on A", async () => (await a.membership(roomId, frank)) === "invite");
      const plain = await a.stateContent(roomId, "m.room.member", frank);
      assert.equal(plain?.["membership"], "invite");
      assert.equal(plain?.["displayname"], undefined);
    });
  });
}
