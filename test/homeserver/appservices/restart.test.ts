// Application service transactions across a restart (application-service-api#pushing-events): the
// transaction IDs go on counting from where they were, and a transaction the service never took is
// sent again, unchanged, by the next run.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import pino from "pino";
import { startHomeserver } from "../../../src/homeserver/server.ts";
import { engines } from "../../storage/engines.ts";
import { call, createRoom, enc, registerUser, startRoomsHomeserver } from "../rooms/helpers.ts";
import { FakeAppservice, registrationYaml } from "./fake-appservice.ts";

for (const engine of engines) {
  describe(`application service transactions over a restart [${engine}]`, () => {
    it("keeps counting transaction IDs and resends what was not taken", async () => {
      const bridge = await FakeAppservice.start();
      const dir = await mkdtemp(join(tmpdir(), "weft-as-restart-"));
      const file = join(dir, "bridge.yaml");
      await writeFile(file, registrationYaml({ id: "bridge", url: bridge.url, asToken: "as-t", hsToken: "hs-t", sender: "_b_bot", users: "[{exclusive: true, regex: '@_b_.*'}]" }));
      const hs = await startRoomsHomeserver(engine, `app_service_config_files: [${JSON.stringify(file)}]`);
      let second: Awaited<ReturnType<typeof startHomeserver>> | undefined;
      try {
        const alice = await registerUser(hs, "restart_alice");
        const room = await createRoom(hs, alice, { preset: "public_chat" });
        assert.equal((await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(room)}/join?user_id=${enc("@_b_bot:test.local")}`, { token: "as-t", body: {} })).status, 200);
        await bridge.waitFor(() => bridge.transactions.some((t) => JSON.stringify(t.body).includes('"join"')), "the join");
        const firstIds = bridge.transactions.map((t) => Number(t.path.split("/").pop()));
        // The service stops taking transactions: the next one stays pending when the server stops.
        bridge.handler = (request) => (request.method === "PUT" ? { status: 503 } : undefined);
        const sent = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/t1`, { token: alice.accessToken, body: { msgtype: "m.text", body: "pending" } });
        assert.equal(sent.status, 200);
        await bridge.waitFor(() => bridge.transactions.some((t) => JSON.stringify(t.body).includes("pending")), "the refused attempt");
        const pending = bridge.transactions.find((t) => JSON.stringify(t.body).includes("pending"));
        await hs.server.close();

        bridge.handler = () => undefined;
        const before = bridge.transactions.length;
        second = await startHomeserver(hs.config, pino({ level: "silent" }));
        await bridge.waitFor(() => bridge.transactions.length > before, "the resent transaction");
        const resent = bridge.transactions[before];
        assert.equal(resent?.path, pending?.path, "the same transaction ID");
        assert.deepEqual(resent?.body, pending?.body, "the same events");
        // A new event gets a new, higher ID.
        const base = `http://127.0.0.1:${second.addresses[0]?.port}`;
        const res = await fetch(`${base}/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/t2`, {
          method: "PUT",
          headers: { authorization: `Bearer ${alice.accessToken}`, "content-type": "application/json" },
          body: JSON.stringify({ msgtype: "m.text", body: "after restart" }),
        });
        assert.equal(res.status, 200);
        await bridge.waitFor(() => bridge.transactions.some((t) => JSON.stringify(t.body).includes("after restart")), "the new event");
        const newId = Number(bridge.transactions.find((t) => JSON.stringify(t.body).includes("after restart"))?.path.split("/").pop());
        assert.ok(newId > Math.max(...firstIds, Number(pending?.path.split("/").pop())), `new ID ${newId} follows the old ones`);
      } finally {
        await second?.close();
        // The harness closes its (already closed) server again, which is harmless, and drops the storage.
        await hs.stop();
        await bridge.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
