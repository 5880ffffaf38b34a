// An application service's published room directory over real HTTP on both engines
// (appservice_room_directory.yaml, application-service-api#published-room-directories): the
// service publishes rooms under its networks, and /publicRooms lists them for the network's
// third_party_instance_id (as /thirdparty/protocol hands it out) or include_all_networks, with the
// main list's summaries, filters and pagination; only the service may publish; the rooms of a
// service no longer registered are not listed.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, post, registerUser, startRoomsHomeserver, type Reply, type TestUser } from "../rooms/helpers.ts";
import { AppserviceRoomDirectoryStore } from "../../../src/storage/stores/appservice-room-directory.ts";
import { FakeAppservice, registrationYaml } from "./fake-appservice.ts";

const AS_TOKEN = "dir-bridge-as-token";
const SERVER = "test.local";
const IRC = "bridge|irc";

const networkList = (networkId: string, roomId: string): string => `/_matrix/client/v3/directory/list/appservice/${enc(networkId)}/${enc(roomId)}`;
const roomIdsOf = (reply: Reply): string[] => (reply.body["chunk"] as Array<Record<string, unknown>>).map((c) => c["room_id"] as string);

for (const engine of engines) {
  describe(`application service room directory [${engine}]`, () => {
    let hs: TestHomeserver;
    let bridge: FakeAppservice;
    let dir: string;
    let alice: TestUser;
    const publish = (networkId: string, roomId: string, visibility: unknown, token = AS_TOKEN): Promise<Reply> =>
      call(hs, "PUT", networkList(networkId, roomId), { token, body: visibility === undefined ? {} : { visibility } });

    before(async () => {
      bridge = await FakeAppservice.start();
      bridge.handler = (request) =>
        request.path === "/_matrix/app/v1/thirdparty/protocol/chat"
          ? { status: 200, body: { user_fields: [], location_fields: [], icon: "", field_types: {}, instances: [{ network_id: "irc", desc: "IRC", fields: {} }] } }
          : undefined;
      dir = await mkdtemp(join(tmpdir(), "weft-as-dir-test-"));
      const file = join(dir, "bridge.yaml");
      await writeFile(
        file,
        registrationYaml({
          id: "bridge",
          url: bridge.url,
          asToken: AS_TOKEN,
          hsToken: "dir-bridge-hs-token",
          sender: "_bridge_bot",
          users: "[{exclusive: true, regex: '@_bridge_.*'}]",
          extra: "rate_limited: false\nprotocols: [chat]",
        }),
      );
      hs = await startRoomsHomeserver(engine, `app_service_config_files: [${JSON.stringify(file)}]`);
      alice = await registerUser(hs, "dir_alice");
    });
    after(async () => {
      await hs.stop();
      await bridge.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("lists a room the service publishes under a network for that network only, and unlists it when private", async () => {
      const main = await createRoom(hs, alice, { visibility: "public", preset: "public_chat", name: "Main list room" });
      const bridged = await createRoom(hs, alice, { preset: "public_chat", name: "Bridged channel", topic: "#channel on IRC" });

      // The instance ID the protocol answer hands out is the one /publicRooms takes.
      const protocol = await call(hs, "GET", "/_matrix/client/v3/thirdparty/protocol/chat", { token: alice.accessToken });
      const instanceId = (protocol.body["instances"] as Array<Record<string, unknown>>)[0]?.["instance_id"];
      assert.equal(instanceId, IRC);

      const published = await publish("irc", bridged, "public");
      assert.equal(published.status, 200, JSON.stringify(published.body));
      assert.deepEqual(published.body, {});
      // Publishing again changes nothing.
      assert.equal((await publish("irc", bridged, "public")).status, 200);

      const network = await post(hs, alice, "/publicRooms", { third_party_instance_id: IRC });
      assert.equal(network.status, 200, JSON.stringify(network.body));
      assert.deepEqual(network.body, {
        chunk: [{ room_id: bridged, name: "Bridged channel", topic: "#channel on IRC", num_joined_members: 1, world_readable: false, guest_can_join: false, join_rule: "public" }],
        total_room_count_estimate: 1,
      });
      // GET takes the networks in its query too.
      assert.deepEqual(roomIdsOf(await call(hs, "GET", `/_matrix/client/v3/publicRooms?third_party_instance_id=${enc(IRC)}`)), [bridged]);

      // Not on the main list...
      const mainList = roomIdsOf(await call(hs, "GET", "/_matrix/client/v3/publicRooms"));
      assert.ok(mainList.includes(main) && !mainList.includes(bridged));
      assert.ok(!roomIdsOf(await post(hs, alice, "/publicRooms", {})).includes(bridged));
      // ... nor on another network's, nor another service's.
      for (const other of ["bridge|matrix", "other|irc", "irc-freenode"]) {
        assert.deepEqual((await post(hs, alice, "/publicRooms", { third_party_instance_id: other })).body, { chunk: [], total_room_count_estimate: 0 }, other);
      }

      // All networks: the main list and the network's, each room once.
      const all = roomIdsOf(await post(hs, alice, "/publicRooms", { include_all_networks: true }));
      assert.ok(all.includes(main) && all.includes(bridged));
      // "Can only be used if include_all_networks is false": all networks wins.
      const both = roomIdsOf(await post(hs, alice, "/publicRooms", { include_all_networks: true, third_party_instance_id: IRC }));
      assert.deepEqual(both, all);
      const allGet = roomIdsOf(await call(hs, "GET", "/_matrix/client/v3/publicRooms?include_all_networks=true"));
      assert.deepEqual(allGet, all);
      assert.equal((await publish("irc", main, "public")).status, 200);
      const twice = roomIdsOf(await post(hs, alice, "/publicRooms", { include_all_networks: true }));
      assert.equal(twice.filter((r) => r === main).length, 1);
      assert.equal(twice.length, all.length);

      // Private takes it off the network's list only.
      assert.deepEqual((await publish("irc", main, "private")).body, {});
      assert.deepEqual((await publish("irc", bridged, "private")).body, {});
      assert.deepEqual(roomIdsOf(await post(hs, alice, "/publicRooms", { third_party_instance_id: IRC })), []);
      assert.ok(roomIdsOf(await call(hs, "GET", "/_matrix/client/v3/publicRooms")).includes(main));
      assert.ok(!roomIdsOf(await post(hs, alice, "/publicRooms", { include_all_networks: true })).includes(bridged));
      assert.equal((await publish("irc", bridged, "private")).status, 200, "unlisting twice is fine");
    });

    it("pages, searches and filters a network's list as the main list", async () => {
      const rooms = [];
      for (const name of ["Net one", "Net two", "Net three"]) rooms.push(await createRoom(hs, alice, { preset: "public_chat", name }));
      const space = await createRoom(hs, alice, { preset: "public_chat", name: "Net space", creation_content: { type: "m.space" } });
      const [one, two, three] = rooms as [string, string, string];
      // More members first, as on the main list.
      for (const localpart of ["net_bob", "net_carol"]) {
        const user = await registerUser(hs, localpart);
        await post(hs, user, `/rooms/${enc(two)}/join`);
      }
      for (const roomId of [one, two, three, space]) assert.equal((await publish("pages", roomId, "public")).status, 200);
      const instance = "bridge|pages";

      const first = await post(hs, alice, "/publicRooms", { third_party_instance_id: instance, limit: 2 });
      assert.equal(first.body["total_room_count_estimate"], 4);
      assert.equal(roomIdsOf(first)[0], two);
      assert.equal(roomIdsOf(first).length, 2);
      assert.equal(first.body["prev_batch"], undefined);
      const next = first.body["next_batch"];
      assert.equal(typeof next, "string");
      const second = await post(hs, alice, "/publicRooms", { third_party_instance_id: instance, limit: 2, since: next });
      assert.equal(roomIdsOf(second).length, 2);
      assert.equal(second.body["next_batch"], undefined);
      assert.equal(typeof second.body["prev_batch"], "string");
      assert.deepEqual(new Set([...roomIdsOf(first), ...roomIdsOf(second)]), new Set([one, two, three, space]));
      // GET pages the same way.
      const getPage = await call(hs, "GET", `/_matrix/client/v3/publicRooms?third_party_instance_id=${enc(instance)}&limit=2&since=${enc(next as string)}`);
      assert.deepEqual(roomIdsOf(getPage), roomIdsOf(second));

      const searched = await post(hs, alice, "/publicRooms", { third_party_instance_id: instance, filter: { generic_search_term: "THREE" } });
      assert.deepEqual(roomIdsOf(searched), [three]);
      assert.equal(searched.body["total_room_count_estimate"], 1);
      const spaces = await post(hs, alice, "/publicRooms", { third_party_instance_id: instance, filter: { room_types: ["m.space"] } });
      assert.deepEqual(roomIdsOf(spaces), [space]);
      assert.equal((spaces.body["chunk"] as Array<Record<string, unknown>>)[0]?.["room_type"], "m.space");
      assertError(await post(hs, alice, "/publicRooms", { third_party_instance_id: instance, since: "garbage" }), 400, "M_INVALID_PARAM");
    });

    it("lists no rooms of a service no longer registered, and keeps them in case it comes back", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat", name: "Published by a bridge since removed" });
      // As a service registered before and removed since would have left it.
      const networks = new AppserviceRoomDirectoryStore(hs.server.services.db);
      await networks.setPublished("gone", "irc", roomId, true, Date.now());
      assert.deepEqual(roomIdsOf(await post(hs, alice, "/publicRooms", { include_all_networks: true })).filter((r) => r === roomId), []);
      assert.deepEqual(roomIdsOf(await post(hs, alice, "/publicRooms", { third_party_instance_id: "gone|irc" })), []);
      assert.deepEqual(await networks.published("gone", "irc"), [roomId]);
    });

    it("is for application services only, with a visibility, for a room known here", async () => {
      const roomId = await createRoom(hs, alice, { preset: "public_chat", name: "Not the user's to bridge" });
      // A user's token, even the room creator's: "cannot be invoked by users who are not identified as application services".
      assertError(await publish("irc", roomId, "public", alice.accessToken), 403, "M_FORBIDDEN");
      assertError(await call(hs, "PUT", networkList("irc", roomId), { body: { visibility: "public" } }), 401, "M_MISSING_TOKEN");
      assert.deepEqual(roomIdsOf(await post(hs, alice, "/publicRooms", { include_all_networks: true })).filter((r) => r === roomId), []);
      // The service acting as one of its users is still the service.
      const asserted = await call(hs, "PUT", `${networkList("irc", roomId)}?user_id=${enc(`@_bridge_dir:${SERVER}`)}`, { token: AS_TOKEN, body: { visibility: "public" } });
      assert.equal(asserted.status, 200, JSON.stringify(asserted.body));
      assert.ok(roomIdsOf(await post(hs, alice, "/publicRooms", { third_party_instance_id: IRC })).includes(roomId));
      assert.equal((await publish("irc", roomId, "private")).status, 200);

      // `visibility` is required, and public or private.
      assertError(await publish("irc", roomId, undefined), 400, "M_MISSING_PARAM");
      assertError(await publish("irc", roomId, "hidden"), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", networkList("irc", roomId), { token: AS_TOKEN, body: [] }), 400, "M_BAD_JSON");
      // A room not known here cannot be published, as on the main list; unpublishing it is harmless.
      assertError(await publish("irc", `!unknown:${SERVER}`, "public"), 404, "M_NOT_FOUND");
      assertError(await publish("irc", "not-a-room", "public"), 404, "M_NOT_FOUND");
      assert.equal((await publish("irc", `!unknown:${SERVER}`, "private")).status, 200);
    });
  });
}
