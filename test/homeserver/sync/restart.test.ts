/**
 * A restart between two syncs, on both engines: the client's token still works and nothing is lost
 * or repeated; receipts and presence survive; the typing stream, kept in memory, starts over.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { parseConfigText, type HomeserverConfig } from "../../../src/config/index.ts";
import { startHomeserver, type RunningHomeserver } from "../../../src/homeserver/server.ts";
import { createTestStorage, engines, type TestStorage } from "../../storage/engines.ts";
import { call, registerUser, type TestUser } from "../api/client/helpers.ts";
import type { TestHomeserver } from "../harness.ts";
import { SYNC_YAML, bodies, createRoom, ephemeralOf, join as joinRoom, joinedRoom, roomSection, sendText, stateOf, sync, syncUntil, timelineOf, type Json } from "./helpers.ts";

const enc = encodeURIComponent;

for (const engine of engines) {
  describe(`sync across a restart [${engine}]`, () => {
    let storage: TestStorage;
    let dataDir: string;
    let config: HomeserverConfig;
    let running: RunningHomeserver | undefined;
    // The helpers take a TestHomeserver; only baseUrl changes across the restart.
    const hs = { baseUrl: "" } as { baseUrl: string } & Partial<TestHomeserver>;

    async function start(): Promise<void> {
      running = await startHomeserver(config, pino({ level: "silent" }));
      hs.baseUrl = `http://127.0.0.1:${running.addresses[0]?.port}`;
    }

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "weft-sync-restart-"));
      storage = await createTestStorage(engine);
      const yaml = ["server_name: test.local", "listeners: [{port: 1, bind_addresses: ['127.0.0.1'], type: http, resources: [{names: [client]}]}]", "log_level: silent", SYNC_YAML].join("\n");
      const parsed = parseConfigText(yaml, join(dataDir, "homeserver.yaml")).config;
      config = { ...parsed, listeners: parsed.listeners.map((l) => ({ ...l, port: 0 })), database: storage.config as HomeserverConfig["database"] };
      await start();
    });
    after(async () => {
      await running?.close();
      await storage.drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it("keeps tokens, receipts and presence, and starts typing over", async () => {
      const server = hs as TestHomeserver;
      const alice: TestUser = await registerUser(server, "alice");
      const bob: TestUser = await registerUser(server, "bob");
      const roomId = await createRoom(server, alice, { invite: [bob.userId] });
      await joinRoom(server, bob, roomId);
      const read = await sendText(server, alice, roomId, "before the restart");
      assert.equal((await call(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(read)}`, { token: bob.accessToken, body: {} })).status, 200);
      await call(server, "PUT", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { token: alice.accessToken, body: { presence: "unavailable", status_msg: "restarting" } });
      await call(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { token: alice.accessToken, body: { typing: true, timeout: 60000 } });
      const token = (await syncUntil(server, bob, (await sync(server, bob))["next_batch"] as string, () => true))["next_batch"] as string;

      await running?.close();
      running = undefined;
      await start();

      await sendText(server, alice, roomId, "after the restart");
      const response = await sync(server, bob, { since: token });
      assert.deepEqual(bodies(timelineOf(joinedRoom(response, roomId))), ["after the restart"], "the token still reads from where it was");
      // The typing list died with the process; the next change reaches the old token too.
      await call(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { token: alice.accessToken, body: { typing: true, timeout: 60000 } });
      const typing = await syncUntil(server, bob, response["next_batch"] as string, (r) => ephemeralOf(joinedRoom(r, roomId)).some((e) => e["type"] === "m.typing"));
      assert.ok(typing !== undefined);

      const initial = await sync(server, bob);
      const receipt = ephemeralOf(joinedRoom(initial, roomId)).find((e) => e["type"] === "m.receipt")?.["content"] as Json | undefined;
      assert.ok(((receipt?.[read] as Json | undefined)?.["m.read"] as Json | undefined)?.[bob.userId] !== undefined, "the receipt survived");
      assert.deepEqual(joinedRoom(initial, roomId)?.["unread_notifications"], { notification_count: 1, highlight_count: 0 });
      const presence = await call(server, "GET", `/_matrix/client/v3/presence/${enc(alice.userId)}/status`, { token: bob.accessToken });
      assert.equal(presence.body["status_msg"], "restarting", "the status message survived");
    });

    it("shows an old token the membership changes made before the restart", async () => {
      const server = hs as TestHomeserver;
      const owner: TestUser = await registerUser(server, "owner");
      const guest: TestUser = await registerUser(server, "guest");
      const inviteRoom = await createRoom(server, owner, { name: "Invited before the restart" });
      const joinRoomId = await createRoom(server, owner, { preset: "public_chat", name: "Joined before the restart" });
      const token = (await sync(server, guest))["next_batch"] as string;
      assert.equal((await call(server, "POST", `/_matrix/client/v3/rooms/${enc(inviteRoom)}/invite`, { token: owner.accessToken, body: { user_id: guest.userId } })).status, 200);
      await joinRoom(server, guest, joinRoomId);

      await running?.close();
      running = undefined;
      await start();

      // sync.yaml `since`: the response covers everything after the token, the restart or not.
      const response = await sync(server, guest, { since: token });
      assert.ok(roomSection(response, "invite", inviteRoom) !== undefined, "the invite");
      const joined = joinedRoom(response, joinRoomId);
      assert.ok(joined !== undefined);
      const shown = new Set([...stateOf(joined), ...timelineOf(joined)].map((e) => `${e["type"]}|${e["state_key"] ?? ""}`));
      assert.ok(shown.has("m.room.create|"), "a newly joined room's whole state");
    });
  });
}
