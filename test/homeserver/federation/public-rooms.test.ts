import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import type { JsonObject } from "../../../src/core/json.ts";
import type { Requester } from "../../../src/http/endpoint.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { engines } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { startTlsHomeserver, type TlsHomeserver } from "./tls-homeserver.ts";

// The published room directory across servers: B answers GET and POST
// /_matrix/federation/v1/publicRooms (server-server public_rooms.yaml) from its own directory,
// and A's clients list B's rooms with /publicRooms?server=B (list_public_rooms.yaml).

interface Reply {
  readonly status: number;
  readonly body: JsonObject;
}

const requester = (userId: string): Requester => ({ userId, deviceId: undefined, isGuest: false, accessTokenId: undefined });
async function register(server: TlsHomeserver, localpart: string): Promise<string> {
  return (await server.server.services.users.register({ localpart, password: undefined, inhibitLogin: true })).userId;
}
const roomIds = (page: JsonObject): string[] => (page["chunk"] as JsonObject[]).map((r) => r["room_id"] as string);

for (const engine of engines) {
  describe(`published room directory over federation [${engine}]`, () => {
    let pki: TestPki;
    let a: TlsHomeserver;
    let b: TlsHomeserver;
    let token: string;
    let big: string;
    let cats: string;
    let space: string;
    let unlisted: string;

    /** A client request to A over HTTPS. */
    const clientCall = (method: "GET" | "POST", path: string, options: { token?: string; body?: unknown } = {}): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
        const body = options.body === undefined ? undefined : JSON.stringify(options.body);
        if (body !== undefined) headers["content-type"] = "application/json";
        const req = httpsRequest({ host: "127.0.0.1", port: a.port, servername: "localhost", method, path, headers, ca: pki.caCert }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as JsonObject }));
        });
        req.on("error", reject);
        req.end(body);
      });

    before(async () => {
      pki = await createTestPki();
      // A keeps Synapse's default (its directory is not shared over federation); B shares its own.
      a = await startTlsHomeserver(engine, pki, { host: "localhost" });
      b = await startTlsHomeserver(engine, pki, { host: "127.0.0.1", yaml: "allow_public_rooms_over_federation: true" });
      const registered = await a.server.services.users.register({ localpart: "reader", password: undefined });
      token = registered.accessToken as string;

      const bob = await register(b, "bob");
      const creation = b.server.services.rooms.creation;
      ({ roomId: big } = await creation.createRoom(requester(bob), { preset: "public_chat", visibility: "public", name: "The big room", topic: "Everyone" }));
      ({ roomId: cats } = await creation.createRoom(requester(bob), { preset: "public_chat", visibility: "public", name: "Cats", topic: "Only cats" }));
      ({ roomId: space } = await creation.createRoom(requester(bob), { preset: "public_chat", visibility: "public", name: "A space", creation_content: { type: "m.space" } }));
      ({ roomId: unlisted } = await creation.createRoom(requester(bob), { preset: "public_chat", name: "Not listed" }));
      for (const name of ["carol", "dave"]) {
        const user = await register(b, name);
        await b.server.services.rooms.membership.join(requester(user), big);
      }
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await pki?.cleanup();
    });

    it("answers GET /publicRooms from its own directory, largest first, with no limit by default", async () => {
      const page = await a.server.services.federation.client.get(b.serverName, "/_matrix/federation/v1/publicRooms");
      assert.deepEqual(roomIds(page).slice(0, 1), [big]);
      assert.deepEqual(new Set(roomIds(page)), new Set([big, cats, space]));
      assert.equal(page["total_room_count_estimate"], 3);
      assert.equal(page["next_batch"], undefined);
      const first = (page["chunk"] as JsonObject[])[0] as JsonObject;
      assert.equal(first["name"], "The big room");
      assert.equal(first["num_joined_members"], 3);
      assert.equal(first["join_rule"], "public");

      // Pages: limit and since.
      const one = await a.server.services.federation.client.get(b.serverName, "/_matrix/federation/v1/publicRooms", { query: { limit: 1 } });
      assert.deepEqual(roomIds(one), [big]);
      const next = one["next_batch"];
      assert.equal(typeof next, "string");
      const two = await a.server.services.federation.client.get(b.serverName, "/_matrix/federation/v1/publicRooms", { query: { limit: 1, since: next as string } });
      assert.equal(roomIds(two).length, 1);
      assert.notEqual(roomIds(two)[0], big);
      assert.equal(typeof two["prev_batch"], "string");

      // A third-party network nothing is published under lists nothing; all networks is then the main list.
      const network = await a.server.services.federation.client.get(b.serverName, "/_matrix/federation/v1/publicRooms", { query: { third_party_instance_id: "irc-freenode" } });
      assert.deepEqual(network["chunk"], []);
      const all = await a.server.services.federation.client.get(b.serverName, "/_matrix/federation/v1/publicRooms", { query: { include_all_networks: true } });
      assert.equal(roomIds(all).length, 3);
      assert.ok(!roomIds(all).includes(unlisted));
    });

    it("answers POST /publicRooms with the filter, room types and pagination", async () => {
      const client = a.server.services.federation.client;
      const search = await client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { limit: 10, filter: { generic_search_term: "cats" } });
      assert.deepEqual(roomIds(search), [cats]);
      const spaces = await client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { filter: { room_types: ["m.space"] } });
      assert.deepEqual(roomIds(spaces), [space]);
      assert.equal((spaces["chunk"] as JsonObject[])[0]?.["room_type"], "m.space");
      const plain = await client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { filter: { room_types: [null] } });
      assert.deepEqual(new Set(roomIds(plain)), new Set([big, cats]));
      // The spec's example body.
      const example = await client.post(b.serverName, "/_matrix/federation/v1/publicRooms", {
        limit: 10,
        filter: { generic_search_term: "foo", room_types: [null, "m.space"] },
        include_all_networks: false,
        third_party_instance_id: "irc-freenode",
      });
      assert.deepEqual(example["chunk"], []);
      const paged = await client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { limit: 2 });
      assert.equal(roomIds(paged).length, 2);
      const rest = await client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { limit: 2, since: paged["next_batch"] as string });
      assert.equal(roomIds(rest).length, 1);
      const bad = (status: number, errcode: string) => (err: unknown) => err instanceof FederationRequestError && err.status === status && err.errcode === errcode;
      await assert.rejects(client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { limit: "ten" }), bad(400, "M_BAD_JSON"));
      await assert.rejects(client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { since: "nonsense" }), bad(400, "M_INVALID_PARAM"));
    });

    it("serves an application service network's list, and all networks, as its clients see them", async () => {
      const client = a.server.services.federation.client;
      const bob = `@bob:${b.serverName}`;
      const { roomId: bridged } = await b.server.services.rooms.creation.createRoom(requester(bob), { preset: "public_chat", name: "Bridged" });
      // As PUT /directory/list/appservice/{networkId}/{roomId} by the service "bridge" does, registered on B.
      b.server.services.rooms.directory.useAppservices(["bridge"]);
      const service = { ...requester(`@bridge:${b.serverName}`), appservice: { id: "bridge", rateLimited: false } };
      await b.server.services.rooms.directory.setNetworkVisibility(service, "irc", bridged, "public");
      const network = await client.get(b.serverName, "/_matrix/federation/v1/publicRooms", { query: { third_party_instance_id: "bridge|irc" } });
      assert.deepEqual(roomIds(network), [bridged]);
      assert.equal((network["chunk"] as JsonObject[])[0]?.["name"], "Bridged");
      const filtered = await client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { third_party_instance_id: "bridge|irc", filter: { generic_search_term: "bridged" } });
      assert.deepEqual(roomIds(filtered), [bridged]);
      assert.ok(!roomIds(await client.get(b.serverName, "/_matrix/federation/v1/publicRooms")).includes(bridged));
      const all = await client.post(b.serverName, "/_matrix/federation/v1/publicRooms", { include_all_networks: true });
      assert.ok(roomIds(all).includes(bridged) && roomIds(all).includes(big));
      await b.server.services.rooms.directory.setNetworkVisibility(service, "irc", bridged, "private");
      assert.deepEqual(roomIds(await client.get(b.serverName, "/_matrix/federation/v1/publicRooms", { query: { third_party_instance_id: "bridge|irc" } })), []);
    });

    it("refuses other servers when allow_public_rooms_over_federation is off (the default)", async () => {
      const client = b.server.services.federation.client;
      const refused = (err: unknown) => err instanceof FederationRequestError && err.status === 403 && err.errcode === "M_FORBIDDEN";
      await assert.rejects(client.get(a.serverName, "/_matrix/federation/v1/publicRooms"), refused);
      await assert.rejects(client.post(a.serverName, "/_matrix/federation/v1/publicRooms", {}), refused);
      // B's clients hear the refusal as it is.
      const bobToken = (await b.server.services.users.register({ localpart: "asker", password: undefined })).accessToken as string;
      const asked = await new Promise<Reply>((resolve, reject) => {
        const req = httpsRequest(
          { host: "127.0.0.1", port: b.port, method: "GET", path: `/_matrix/client/v3/publicRooms?server=${encodeURIComponent(a.serverName)}`, headers: { authorization: `Bearer ${bobToken}` }, ca: pki.caCert },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as JsonObject }));
          },
        );
        req.on("error", reject);
        req.end();
      });
      assert.equal(asked.status, 403);
      assert.equal(asked.body["errcode"], "M_FORBIDDEN");
    });

    it("needs X-Matrix authorization", async () => {
      const reply = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: "127.0.0.1", port: b.port, path: "/_matrix/federation/v1/publicRooms", ca: pki.caCert }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(reply, 401);
    });

    it("lists another server's rooms for a client with server=, over federation", async () => {
      const listed = await clientCall("GET", `/_matrix/client/v3/publicRooms?server=${encodeURIComponent(b.serverName)}&limit=2`, { token });
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.deepEqual(roomIds(listed.body)[0], big);
      assert.equal(roomIds(listed.body).length, 2);
      const more = await clientCall("GET", `/_matrix/client/v3/publicRooms?server=${encodeURIComponent(b.serverName)}&limit=2&since=${encodeURIComponent(listed.body["next_batch"] as string)}`, {
        token,
      });
      assert.equal(roomIds(more.body).length, 1);

      const searched = await clientCall("POST", `/_matrix/client/v3/publicRooms?server=${encodeURIComponent(b.serverName)}`, {
        token,
        body: { filter: { generic_search_term: "CATS" } },
      });
      assert.equal(searched.status, 200, JSON.stringify(searched.body));
      assert.deepEqual(roomIds(searched.body), [cats]);
      const spaces = await clientCall("POST", `/_matrix/client/v3/publicRooms?server=${encodeURIComponent(b.serverName)}`, { token, body: { filter: { room_types: ["m.space"] } } });
      assert.deepEqual(roomIds(spaces.body), [space]);

      // Our own directory stays ours: A lists nothing.
      const own = await clientCall("GET", "/_matrix/client/v3/publicRooms");
      assert.deepEqual(own.body["chunk"], []);
      // Another server is asked only for a user of ours.
      const anonymous = await clientCall("GET", `/_matrix/client/v3/publicRooms?server=${encodeURIComponent(b.serverName)}`);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body["errcode"], "M_MISSING_TOKEN");
    });

    it("keeps unfiltered pages a while, and answers 502 for a server it cannot reach", async () => {
      const path = `/_matrix/client/v3/publicRooms?server=${encodeURIComponent(b.serverName)}&limit=7`;
      const first = await clientCall("GET", path, { token });
      assert.equal(roomIds(first.body).length, 3);
      // A room listed since is not seen before the cached page expires (unfiltered pages are kept a minute)...
      const bob = `@bob:${b.serverName}`;
      const { roomId: late } = await b.server.services.rooms.creation.createRoom(requester(bob), { preset: "public_chat", visibility: "public", name: "Late" });
      const cached = await clientCall("GET", path, { token });
      assert.deepEqual(cached.body, first.body);
      // ... but a filtered query goes to the server every time.
      const fresh = await clientCall("POST", `/_matrix/client/v3/publicRooms?server=${encodeURIComponent(b.serverName)}`, { token, body: { filter: { generic_search_term: "late" } } });
      assert.deepEqual(roomIds(fresh.body), [late]);

      const nowhere = await clientCall("GET", `/_matrix/client/v3/publicRooms?server=${encodeURIComponent("127.0.0.1:1")}`, { token });
      assert.equal(nowhere.status, 502, JSON.stringify(nowhere.body));
      assert.ok(typeof nowhere.body["errcode"] === "string");
      const invalid = await clientCall("GET", `/_matrix/client/v3/publicRooms?server=${encodeURIComponent("not a server")}`, { token });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.body["errcode"], "M_INVALID_PARAM");
    });
  });
}
