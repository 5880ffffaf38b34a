// Spaces across servers (server-server-api#spaces, space_hierarchy.yaml; spaces.md "Server
// behaviour"): the checks on another server's /hierarchy answer and how it is asked and kept
// (scripted), then on both engines two servers over TLS: B answers GET
// /_matrix/federation/v1/hierarchy/{roomId} to A's signed requests with what A's users may see, and
// a client of A walks a space whose children live only on B.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent, fetch } from "undici";
import type { JsonObject } from "../../../src/core/json.ts";
import type { Requester } from "../../../src/http/endpoint.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { checkedSpace, RemoteSpaces, type HierarchyClient } from "../../../src/homeserver/federation/remote-hierarchy.ts";
import { remoteChildren, type RemoteWalkBudget } from "../../../src/homeserver/rooms/hierarchy.ts";
import { engines } from "../../storage/engines.ts";
import { waitFor } from "./federated-server.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { startTlsHomeserver, type TlsHomeserver } from "./tls-homeserver.ts";

const summary = (id: string, extra: JsonObject = {}): JsonObject => ({ room_id: id, num_joined_members: 1, world_readable: false, guest_can_join: false, join_rule: "public", ...extra });
const childEvent = (id: string, ts: number, content: JsonObject = { via: ["x.test"] }): JsonObject => ({
  type: "m.space.child",
  state_key: id,
  sender: "@s:x.test",
  content,
  origin_server_ts: ts,
});
const budget = (): RemoteWalkBudget => ({ deadline: Date.now() + 60_000, requestsLeft: 100 });

describe("another server's /hierarchy answer", () => {
  it("keeps only the asked room, well-formed fields and the room's own children", () => {
    const answer: JsonObject = {
      room: summary("!space:x", {
        room_type: "m.space",
        name: "Space",
        topic: 7,
        allowed_room_ids: ["!ok:x", 3, "no-bang"],
        extra: "dropped",
        children_state: [childEvent("!a:x", 2), childEvent("!b:x", 1), { type: "m.room.name", state_key: "!c:x" }, childEvent("no-bang", 3)],
      }),
      children: [summary("!a:x"), summary("!elsewhere:x"), { room_id: "!b:x" }, "nonsense"],
      inaccessible_children: ["!b:x", "!a:x", "!elsewhere:x", 5],
    };
    const space = checkedSpace(answer, "!space:x");
    assert.ok(space !== undefined);
    assert.deepEqual(space.room, {
      ...summary("!space:x"),
      room_type: "m.space",
      name: "Space",
      allowed_room_ids: ["!ok:x"],
      children_state: [childEvent("!a:x", 2), childEvent("!b:x", 1)],
    });
    // space_hierarchy.yaml `children`: summaries of the space's children; another room's is not believed.
    assert.deepEqual([...space.children.keys()], ["!a:x"]);
    // `inaccessible_children`: the space's children, and not one the answer also summarises.
    assert.deepEqual([...space.inaccessible], ["!b:x"]);
    // An answer about another room, or without a valid `room`, is no answer.
    assert.equal(checkedSpace(answer, "!other:x"), undefined);
    assert.equal(checkedSpace({ room: { room_id: "!space:x" }, children: [], inaccessible_children: [] }, "!space:x"), undefined);
    // `children_state` is required of `room`: missing, it is taken as empty.
    assert.deepEqual(checkedSpace({ room: summary("!r:x") }, "!r:x")?.room["children_state"], []);
  });

  it("orders a remote space's children as spaces.md says, without via-less ones, and none for a room that is no space", () => {
    // spaces.md "Ordering of children within a space"; a child without `via` is removed.
    const room = summary("!s:x", {
      room_type: "m.space",
      children_state: [
        childEvent("!e:x", 5),
        childEvent("!a:x", 9, { via: ["x"], order: "b", suggested: true }),
        childEvent("!b:x", 1, { via: ["x"], order: "a" }),
        childEvent("!gone:x", 0, {}),
        childEvent("!d:x", 3),
      ],
    });
    assert.deepEqual(remoteChildren(room, false).map((c) => c.roomId), ["!b:x", "!a:x", "!d:x", "!e:x"]);
    assert.deepEqual(remoteChildren(room, true).map((c) => c.roomId), ["!a:x"], "suggested_only keeps the suggested children");
    // space_hierarchy.yaml children_state: "If the room is not a space-room, this should be empty".
    assert.deepEqual(remoteChildren({ ...room, room_type: "m.other" }, false), []);
  });
});

describe("RemoteSpaces", () => {
  function scripted(answer: (server: string, query: unknown) => JsonObject): HierarchyClient & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      get: async (server, path, options) => {
        calls.push(`${server} ${path} ${JSON.stringify(options?.query ?? {})}`);
        return answer(server, options?.query);
      },
    };
  }
  const good = { room: summary("!r:x", { room_type: "m.space", children_state: [] }), children: [], inaccessible_children: [] };

  it("asks the via servers in turn (not ourselves), until one answers the room", async () => {
    const client = scripted((server) => {
      if (server === "down.test") throw new FederationRequestError(server, "connection", "refused");
      if (server === "liar.test") return { room: summary("!other:x"), children: [], inaccessible_children: [] };
      return good;
    });
    const remote = new RemoteSpaces(client, "us.test");
    const space = await remote.space("!r:x", ["us.test", "not a server", "down.test", "liar.test", "up.test"], true, budget());
    assert.equal(space?.room["room_id"], "!r:x");
    assert.deepEqual(client.calls, [
      'down.test /_matrix/federation/v1/hierarchy/!r%3Ax {"suggested_only":"true"}',
      'liar.test /_matrix/federation/v1/hierarchy/!r%3Ax {"suggested_only":"true"}',
      'up.test /_matrix/federation/v1/hierarchy/!r%3Ax {"suggested_only":"true"}',
    ]);
    // Only our own server: nothing to ask.
    assert.equal(await remote.space("!r:x", ["us.test"], false, budget()), undefined);
  });

  it("keeps answers and failures a minute, and asks nothing once the walk's budget is spent", async () => {
    let now = 1_000_000;
    let fail = true;
    const client = scripted(() => {
      if (fail) throw new FederationRequestError("them.test", "http", "not found", 404, "M_NOT_FOUND");
      return good;
    });
    const remote = new RemoteSpaces(client, "us.test", { now: () => now });
    assert.equal(await remote.space("!r:x", ["them.test"], false, budget()), undefined);
    fail = false;
    assert.equal(await remote.space("!r:x", ["them.test"], false, budget()), undefined, "the failure is kept");
    assert.equal(client.calls.length, 1);
    now += 60_000;
    assert.equal((await remote.space("!r:x", ["them.test"], false, budget()))?.room["room_id"], "!r:x");
    assert.equal((await remote.space("!r:x", ["them.test"], false, { deadline: 0, requestsLeft: 0 }))?.room["room_id"], "!r:x", "a kept answer costs nothing");
    assert.equal(client.calls.length, 2);
    // suggested_only is another question.
    const spent: RemoteWalkBudget = { deadline: Date.now() + 60_000, requestsLeft: 0 };
    assert.equal(await remote.space("!r:x", ["them.test"], true, spent), undefined);
    assert.equal(client.calls.length, 2);
    const one: RemoteWalkBudget = { deadline: Date.now() + 60_000, requestsLeft: 1 };
    assert.ok((await remote.space("!r:x", ["them.test"], true, one)) !== undefined);
    assert.equal(one.requestsLeft, 0);
  });

  it("does not keep a failure the walk's budget cut short", async () => {
    const client = scripted((server) => {
      if (server === "down.test") throw new FederationRequestError(server, "connection", "refused");
      return good;
    });
    const remote = new RemoteSpaces(client, "us.test");
    const one: RemoteWalkBudget = { deadline: Date.now() + 60_000, requestsLeft: 1 };
    assert.equal(await remote.space("!r:x", ["down.test", "up.test"], false, one), undefined);
    assert.equal((await remote.space("!r:x", ["down.test", "up.test"], false, budget()))?.room["room_id"], "!r:x");
    assert.deepEqual(client.calls.map((c) => c.split(" ")[0]), ["down.test", "down.test", "up.test"]);
  });
});

const requester = (userId: string): Requester => ({ userId, deviceId: undefined, isGuest: false, accessTokenId: undefined });

for (const engine of engines) {
  describe(`spaces over federation [${engine}]`, () => {
    let pki: TestPki;
    let a: TlsHomeserver;
    let b: TlsHomeserver;
    let agent: Agent;
    let alice: { userId: string; token: string };
    let carol: { userId: string; token: string };
    let bob: string;
    // On B: bspace (public space) > bsub (public space) > bdeep (public room); bspace > bpub
    // (public, suggested), bworld (invite only, world_readable), binvited (invite only, alice
    // invited), brestricted (restricted to bpub, which alice joins), bsecret (invite only), and a
    // child B does not know. On A: aspace (public space) > bspace, and a child on a server that is down.
    let bspace: string;
    let bsub: string;
    let bdeep: string;
    let bpub: string;
    let bworld: string;
    let binvited: string;
    let brestricted: string;
    let bsecret: string;
    let bprivateSpace: string;
    let aspace: string;
    const unknownOnB = () => `!nowhere:${b.serverName}`;

    const hierarchyOfB = (roomId: string, query: Record<string, string> = {}) =>
      a.server.services.federation.client.get(b.serverName, `/_matrix/federation/v1/hierarchy/${encodeURIComponent(roomId)}`, { query });
    const clientHierarchy = async (user: { token: string }, roomId: string, query = ""): Promise<{ status: number; body: JsonObject }> => {
      const response = await fetch(`https://127.0.0.1:${a.port}/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/hierarchy${query}`, {
        dispatcher: agent,
        headers: { authorization: `Bearer ${user.token}` },
      });
      return { status: response.status, body: (await response.json()) as JsonObject };
    };
    const ids = (rooms: unknown): string[] => (rooms as JsonObject[]).map((r) => r["room_id"] as string);
    const childKeys = (room: unknown): string[] => ((room as JsonObject)["children_state"] as JsonObject[]).map((e) => e["state_key"] as string);
    const notFound = (err: unknown) => err instanceof FederationRequestError && err.status === 404 && err.errcode === "M_NOT_FOUND";

    before(async () => {
      pki = await createTestPki();
      a = await startTlsHomeserver(engine, pki, { host: "localhost" });
      b = await startTlsHomeserver(engine, pki, { host: "127.0.0.1" });
      agent = new Agent({ connect: { ca: pki.caCert } });
      const register = async (server: TlsHomeserver, localpart: string) => {
        const registered = await server.server.services.users.register({ localpart, password: undefined });
        return { userId: registered.userId, token: registered.accessToken as string };
      };
      alice = await register(a, "alice");
      carol = await register(a, "carol");
      bob = (await register(b, "bob")).userId;

      const create = async (server: TlsHomeserver, creator: string, body: JsonObject) =>
        (await server.server.services.rooms.creation.createRoom(requester(creator), body)).roomId;
      const isSpace = { creation_content: { type: "m.space" } };
      bspace = await create(b, bob, { preset: "public_chat", name: "B space", topic: "Rooms of B", ...isSpace });
      bsub = await create(b, bob, { preset: "public_chat", name: "B sub-space", ...isSpace });
      bprivateSpace = await create(b, bob, { preset: "private_chat", name: "B private space", ...isSpace });
      bdeep = await create(b, bob, { preset: "public_chat", name: "Deep" });
      bpub = await create(b, bob, { preset: "public_chat", name: "Public" });
      bworld = await create(b, bob, {
        preset: "private_chat",
        name: "World readable",
        initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "world_readable" } }],
      });
      binvited = await create(b, bob, { preset: "private_chat", name: "Invited" });
      brestricted = await create(b, bob, {
        preset: "private_chat",
        name: "Restricted",
        room_version: "10",
        initial_state: [{ type: "m.room.join_rules", content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: bpub }] } }],
      });
      bsecret = await create(b, bob, { preset: "private_chat", name: "Secret" });
      const child = (server: TlsHomeserver, sender: string, parent: string, roomId: string, content: JsonObject) =>
        server.server.services.roomserver.createLocalEvent({ roomId: parent, type: "m.space.child", stateKey: roomId, sender, content });
      const viaB = [b.serverName];
      await child(b, bob, bspace, bsub, { via: viaB, order: "a" });
      await child(b, bob, bspace, bpub, { via: viaB, order: "b", suggested: true });
      await child(b, bob, bspace, bworld, { via: viaB, order: "c" });
      await child(b, bob, bspace, binvited, { via: viaB, order: "d" });
      await child(b, bob, bspace, brestricted, { via: viaB, order: "e" });
      await child(b, bob, bspace, bsecret, { via: viaB, order: "f" });
      await child(b, bob, bspace, unknownOnB(), { via: viaB, order: "g" });
      await child(b, bob, bsub, bdeep, { via: viaB });
      await child(b, bob, bprivateSpace, bpub, { via: viaB });

      aspace = await create(a, alice.userId, { preset: "public_chat", name: "A space", ...isSpace });
      await child(a, alice.userId, aspace, bspace, { via: ["not a server", b.serverName], order: "a" });
      await child(a, alice.userId, aspace, "!down:127.0.0.1:1", { via: ["127.0.0.1:1"], order: "b" });
    });
    after(async () => {
      await agent?.close();
      await a?.stop();
      await b?.stop();
      await pki?.cleanup();
    });

    it("answers a signed GET /hierarchy with the room, the children A may see and those it may not", async () => {
      const answer = await hierarchyOfB(bspace);
      const room = answer["room"] as JsonObject;
      assert.equal(room["room_id"], bspace);
      assert.equal(room["name"], "B space");
      assert.equal(room["topic"], "Rooms of B");
      assert.equal(room["room_type"], "m.space");
      assert.equal(room["join_rule"], "public");
      assert.equal(room["num_joined_members"], 1);
      assert.equal(room["room_version"], b.config.defaultRoomVersion);
      // children_state: every m.space.child with a via, in the spec's order, stripped with origin_server_ts.
      assert.deepEqual(childKeys(room), [bsub, bpub, bworld, binvited, brestricted, bsecret, unknownOnB()]);
      for (const e of room["children_state"] as JsonObject[]) {
        assert.deepEqual(Object.keys(e).sort(), ["content", "origin_server_ts", "sender", "state_key", "type"]);
        assert.equal(e["sender"], bob);
      }
      // children: what A "could feasibly peek/join" (public, world_readable); a room B does not know is left out.
      assert.deepEqual(ids(answer["children"]), [bsub, bpub, bworld]);
      const sub = (answer["children"] as JsonObject[])[0] as JsonObject;
      assert.deepEqual(childKeys(sub), [bdeep], "a child space comes with its own children");
      assert.deepEqual(answer["inaccessible_children"], [binvited, brestricted, bsecret]);

      // suggested_only: only the suggested children are considered.
      const suggested = await hierarchyOfB(bspace, { suggested_only: "true" });
      assert.deepEqual(childKeys(suggested["room"]), [bpub]);
      assert.deepEqual(ids(suggested["children"]), [bpub]);
      assert.deepEqual(suggested["inaccessible_children"], []);
      // A room that is no space has no children.
      assert.deepEqual(childKeys((await hierarchyOfB(bpub))["room"]), []);
    });

    it("is 404 M_NOT_FOUND for a room B does not know or A may not peek or join", async () => {
      await assert.rejects(hierarchyOfB(unknownOnB()), notFound);
      await assert.rejects(hierarchyOfB(bprivateSpace), notFound);
      await assert.rejects(hierarchyOfB(bsecret), notFound);
      await assert.rejects(
        a.server.services.federation.client.get(b.serverName, `/_matrix/federation/v1/hierarchy/${encodeURIComponent(bspace)}`, { query: { suggested_only: "maybe" } }),
        (err: unknown) => err instanceof FederationRequestError && err.status === 400 && err.errcode === "M_INVALID_PARAM",
      );
      // Unsigned: 401.
      const unsigned = await fetch(`https://127.0.0.1:${b.port}/_matrix/federation/v1/hierarchy/${encodeURIComponent(bspace)}`, { dispatcher: agent });
      assert.equal(unsigned.status, 401);
    });

    it("lets a client of A walk into the children that live only on B", async () => {
      const reply = await clientHierarchy(carol, aspace);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const rooms = reply.body["rooms"] as JsonObject[];
      // bsub's children came in bspace's answer; bdeep was asked of B on its own. The inaccessible
      // children, the one B does not know and the one on a server that is down are left out.
      assert.deepEqual(ids(rooms), [aspace, bspace, bsub, bdeep, bpub, bworld]);
      const remoteSpace = rooms[1] as JsonObject;
      assert.equal(remoteSpace["name"], "B space");
      assert.equal(remoteSpace["room_type"], "m.space");
      assert.deepEqual(childKeys(remoteSpace), [bsub, bpub, bworld, binvited, brestricted, bsecret, unknownOnB()]);
      assert.deepEqual(childKeys(rooms[2]), [bdeep]);
      assert.deepEqual(childKeys(rooms[3]), []);
      assert.deepEqual(childKeys(rooms[0]), [bspace, "!down:127.0.0.1:1"]);

      // Pages and the other filters hold for remote rooms as for ours.
      const first = await clientHierarchy(carol, aspace, "?limit=3");
      assert.deepEqual(ids(first.body["rooms"]), [aspace, bspace, bsub]);
      const second = await clientHierarchy(carol, aspace, `?limit=3&from=${encodeURIComponent(first.body["next_batch"] as string)}`);
      assert.deepEqual(ids(second.body["rooms"]), [bdeep, bpub, bworld]);
      assert.equal(second.body["next_batch"], undefined);
      assert.deepEqual(ids((await clientHierarchy(carol, aspace, "?max_depth=1")).body["rooms"]), [aspace, bspace]);
      // Only children are asked of other servers: a root not known here stays refused.
      assert.equal((await clientHierarchy(carol, bspace)).status, 403);
    });

    it("summarises a room of B for a client of A from B's /hierarchy, given a via (room_summary.yaml)", async () => {
      const summaryOf = async (user: { token: string } | undefined, roomIdOrAlias: string, query = ""): Promise<{ status: number; body: JsonObject }> => {
        const response = await fetch(`https://127.0.0.1:${a.port}/_matrix/client/v1/room_summary/${encodeURIComponent(roomIdOrAlias)}${query}`, {
          dispatcher: agent,
          headers: user === undefined ? {} : { authorization: `Bearer ${user.token}` },
        });
        return { status: response.status, body: (await response.json()) as JsonObject };
      };
      const via = `?via=${encodeURIComponent("not a server")}&via=${encodeURIComponent(b.serverName)}`;
      const reply = await summaryOf(carol, bsub, via);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, {
        room_id: bsub,
        name: "B sub-space",
        room_type: "m.space",
        join_rule: "public",
        num_joined_members: 1,
        world_readable: false,
        guest_can_join: false,
        room_version: b.config.defaultRoomVersion,
      });
      // Rooms B will not describe to A, and any room without a server to ask, stay unknown.
      assert.equal((await summaryOf(carol, bsecret, via)).status, 404);
      assert.equal((await summaryOf(carol, bdeep)).status, 404);
      // Without an access token nothing is asked of other servers.
      assert.equal((await summaryOf(undefined, bdeep, via)).status, 404);
      assert.equal((await summaryOf(carol, bdeep, via)).status, 200);
    });

    it("shows A's users the rooms their memberships open, and only to them", async () => {
      // An invite of alice lets A see binvited; alice joined to bpub lets A see brestricted.
      await b.server.services.rooms.membership.invite(requester(bob), binvited, alice.userId);
      await a.server.services.rooms.membership.join(requester(alice.userId), bpub, { via: [b.serverName] });
      await waitFor("alice's join on B", async () => (await b.server.services.rooms.membershipIndex.membershipOf(alice.userId, bpub)) === "join");
      const answer = await hierarchyOfB(bspace);
      assert.deepEqual(ids(answer["children"]), [bsub, bpub, bworld, binvited, brestricted]);
      assert.deepEqual(answer["inaccessible_children"], [bsecret]);

      // A new pair of spaces (A keeps B's earlier answer about bspace a minute): aspace2 on A > bspace2 on B > bpub, binvited, brestricted, bsecret.
      const services = { a: a.server.services, b: b.server.services };
      const bspace2 = (await services.b.rooms.creation.createRoom(requester(bob), { preset: "public_chat", name: "B space 2", creation_content: { type: "m.space" } })).roomId;
      for (const [order, roomId] of [bpub, binvited, brestricted, bsecret].entries()) {
        await services.b.roomserver.createLocalEvent({ roomId: bspace2, type: "m.space.child", stateKey: roomId, sender: bob, content: { via: [b.serverName], order: String(order) } });
      }
      const aspace2 = (await services.a.rooms.creation.createRoom(requester(alice.userId), { preset: "public_chat", name: "A space 2", creation_content: { type: "m.space" } })).roomId;
      await services.a.roomserver.createLocalEvent({ roomId: aspace2, type: "m.space.child", stateKey: bspace2, sender: alice.userId, content: { via: [b.serverName] } });
      await services.a.rooms.membershipIndex.waitUntil(services.a.rooms.membershipIndex.position);

      // A filters B's answer for each user (space_hierarchy.yaml: "The requesting server is responsible for filtering the results further down").
      const forAlice = await clientHierarchy(alice, aspace2);
      assert.equal(forAlice.status, 200, JSON.stringify(forAlice.body));
      assert.deepEqual(ids(forAlice.body["rooms"]), [aspace2, bspace2, bpub, binvited, brestricted]);
      // bpub is known on A now (alice joined it): A's own state describes it, with both members.
      const bpubChunk = (forAlice.body["rooms"] as JsonObject[]).find((r) => r["room_id"] === bpub) as JsonObject;
      assert.equal(bpubChunk["num_joined_members"], 2);
      const restrictedChunk = (forAlice.body["rooms"] as JsonObject[]).find((r) => r["room_id"] === brestricted) as JsonObject;
      assert.equal(restrictedChunk["join_rule"], "restricted");
      assert.deepEqual(restrictedChunk["allowed_room_ids"], [bpub]);
      const forCarol = await clientHierarchy(carol, aspace2);
      assert.deepEqual(ids(forCarol.body["rooms"]), [aspace2, bspace2, bpub]);
    });
  });
}
