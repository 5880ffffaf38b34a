// The search index across restarts, on both engines: what was indexed is still found, and a
// database whose index is empty (as right after migration 019 on a server with history) is
// indexed from the room stream at start, redacted events left out.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { parseConfigText, type HomeserverConfig } from "../../../src/config/index.ts";
import { startHomeserver, type RunningHomeserver } from "../../../src/homeserver/server.ts";
import { openDatabase } from "../../../src/storage/database.ts";
import { createTestStorage, engines, type TestStorage } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { EVENTS_YAML, call, enc, registerUser, roomPath, send, text, type TestUser } from "../events/helpers.ts";
import { ids, roomEvents } from "./helpers.ts";

for (const engine of engines) {
  describe(`the search index across restarts [${engine}]`, () => {
    let storage: TestStorage;
    let dataDir: string;
    let config: HomeserverConfig;
    let running: RunningHomeserver | undefined;
    // The helpers take a TestHomeserver; only baseUrl changes across a restart.
    const hs = { baseUrl: "" } as { baseUrl: string } & Partial<TestHomeserver>;
    const server = hs as TestHomeserver;

    async function start(): Promise<void> {
      running = await startHomeserver(config, pino({ level: "silent" }));
      hs.baseUrl = `http://127.0.0.1:${running.addresses[0]?.port}`;
    }

    async function stop(): Promise<void> {
      await running?.close();
      running = undefined;
    }

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "weft-search-restart-"));
      storage = await createTestStorage(engine);
      const yaml = ["server_name: test.local", "listeners: [{port: 1, bind_addresses: ['127.0.0.1'], type: http, resources: [{names: [client]}]}]", "log_level: silent", EVENTS_YAML].join("\n");
      const parsed = parseConfigText(yaml, join(dataDir, "homeserver.yaml")).config;
      config = { ...parsed, listeners: parsed.listeners.map((l) => ({ ...l, port: 0 })), database: storage.config as HomeserverConfig["database"] };
      await start();
    });
    after(async () => {
      await stop();
      await storage.drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it("finds after a restart what it found before, and indexes a room stream it has never read", async () => {
      const alice: TestUser = await registerUser(server, "r_alice");
      const created = await call(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { name: "Durable room" } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const roomId = created.body["room_id"] as string;
      const kept = await send(server, alice, roomId, text("durable words"));
      const doomed = await send(server, alice, roomId, text("durable but redacted"));
      const redacted = await call(server, "PUT", roomPath(roomId, `/redact/${enc(doomed)}/r1`), { token: alice.accessToken, body: {} });
      assert.equal(redacted.status, 200);
      const found = async (term: string) => ids(await roomEvents(server, alice, { search_term: term, order_by: "recent", keys: ["content.body"] }));
      assert.deepEqual(await found("durable"), [kept]);

      await stop();
      await start();
      assert.deepEqual(await found("durable"), [kept], "still indexed");

      // As right after migration 019: an empty index that has read nothing.
      await stop();
      const db = await openDatabase(storage.config);
      await db.write("test_empty_search_index", async (trx) => {
        await trx.deleteFrom("event_search").execute();
        await trx.deleteFrom("search_index_position").execute();
      });
      await db.close();
      await start();
      const fresh = await roomEvents(server, alice, { search_term: "durable", order_by: "recent", keys: ["content.body"] });
      assert.deepEqual(ids(fresh), [kept], "indexed again from the room stream, the redacted event left out");
      assert.equal((await roomEvents(server, alice, { search_term: "durable", keys: ["content.name"] }))["count"], 1, "the room's name too");
      const later = await send(server, alice, roomId, text("durable after all that"));
      assert.deepEqual(await found("durable"), [later, kept]);
    });
  });
}
