// Application service transactions across a restart (application-service-api#pushing-events): the
// transaction IDs go on counting from where they were, a transaction the service never took is
// sent again, unchanged, by the next run, and the events heard but not yet put in a transaction
// when the server stopped are read from the room stream and sent then, once each, in stream order.
// A service registered since the last start begins at the stream's head, and the stored position
// moves past the events no service is interested in.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import pino from "pino";
import type { HomeserverConfig } from "../../../src/config/index.ts";
import { startHomeserver } from "../../../src/homeserver/server.ts";
import { AppserviceStore } from "../../../src/storage/stores/appservices.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { call, createRoom, enc, registerUser, startRoomsHomeserver, type TestUser } from "../rooms/helpers.ts";
import { FakeAppservice, registrationYaml, type ReceivedRequest } from "./fake-appservice.ts";

/** The homeserver started again on the first one's storage (and config, unless given); `stop` only closes it. */
async function restart(hs: TestHomeserver, config: HomeserverConfig = hs.config): Promise<TestHomeserver> {
  const server = await startHomeserver(config, pino({ level: "silent" }));
  return { ...hs, baseUrl: `http://127.0.0.1:${server.addresses[0]?.port}`, server, config, stop: () => server.close() };
}

async function sendText(hs: TestHomeserver, user: TestUser, roomId: string, body: string): Promise<string> {
  const sent = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(body)}`, { token: user.accessToken, body: { msgtype: "m.text", body } });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  return sent.body["event_id"] as string;
}

function txnIdOf(txn: ReceivedRequest): number {
  return Number(txn.path.split("/").pop());
}

/** The bodies of the m.room.message events in the transactions, in the order sent. */
function texts(txns: readonly ReceivedRequest[]): string[] {
  const events = txns.flatMap((t) => (t.body?.["events"] ?? []) as Array<{ type: string; content: { body?: string } }>);
  return events.filter((e) => e.type === "m.room.message").map((e) => e.content.body ?? "");
}

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

    it("sends the events heard but not yet in a transaction when the server stopped, once each and in order", async () => {
      const bridge = await FakeAppservice.start();
      const dir = await mkdtemp(join(tmpdir(), "weft-as-restart-"));
      const file = join(dir, "queue.yaml");
      await writeFile(file, registrationYaml({ id: "queue", url: bridge.url, asToken: "as-q", hsToken: "hs-q", sender: "_q_bot", users: "[{exclusive: true, regex: '@_q_.*'}]" }));
      const hs = await startRoomsHomeserver(engine, `app_service_config_files: [${JSON.stringify(file)}]`);
      let second: TestHomeserver | undefined;
      try {
        const alice = await registerUser(hs, "queue_alice");
        const room = await createRoom(hs, alice, { preset: "public_chat" });
        assert.equal((await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(room)}/join?user_id=${enc("@_q_bot:test.local")}`, { token: "as-q", body: {} })).status, 200);
        await bridge.waitFor(() => bridge.transactions.some((t) => JSON.stringify(t.body).includes('"join"')), "the join");
        const idsBefore = bridge.transactions.map(txnIdOf);
        // The service refuses: the transaction of m1 stays pending, and the events after it wait in
        // memory behind it, in no transaction yet, when the server stops.
        bridge.handler = (request) => (request.method === "PUT" ? { status: 503 } : undefined);
        await sendText(hs, alice, room, "m1");
        await bridge.waitFor(() => texts(bridge.transactions).includes("m1"), "the refused attempt");
        const pending = bridge.transactions.find((t) => texts([t]).includes("m1"));
        for (const body of ["m2", "m3", "m4", "m5"]) await sendText(hs, alice, room, body);
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(texts(bridge.transactions).filter((b) => b !== "m1"), [], "m2-m5 were not in a transaction yet");
        await hs.server.close();

        const accepted: ReceivedRequest[] = [];
        bridge.handler = (request) => {
          if (request.method === "PUT" && request.path.startsWith("/_matrix/app/v1/transactions/")) accepted.push(request);
          return undefined;
        };
        second = await restart(hs);
        await bridge.waitFor(() => texts(accepted).length >= 5, "the events of before the stop");
        await sendText(second, alice, room, "m6");
        await bridge.waitFor(() => texts(accepted).includes("m6"), "a new event");
        assert.deepEqual(texts(accepted), ["m1", "m2", "m3", "m4", "m5", "m6"], "every event once, in stream order");
        assert.equal(accepted[0]?.path, pending?.path, "the pending transaction first, under its ID");
        assert.deepEqual(accepted[0]?.body, pending?.body);
        const ids = accepted.map(txnIdOf);
        assert.ok(ids.every((id, i) => i === 0 || id > (ids[i - 1] as number)), `IDs count up: ${ids.join(",")}`);
        assert.ok((ids[0] as number) > Math.max(...idsBefore), "the IDs go on from the first run's");
      } finally {
        await second?.stop();
        await hs.stop();
        await bridge.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("begins a service registered since the last start at the stream's head, without the rooms' history", async () => {
      const bridge = await FakeAppservice.start();
      const dir = await mkdtemp(join(tmpdir(), "weft-as-restart-"));
      const file = join(dir, "late.yaml");
      await writeFile(file, registrationYaml({ id: "late", url: bridge.url, asToken: "as-l", hsToken: "hs-l", sender: "_late_bot", users: "[{exclusive: false, regex: '@late_alice:.*'}]" }));
      const hs = await startRoomsHomeserver(engine);
      let second: TestHomeserver | undefined;
      try {
        const alice = await registerUser(hs, "late_alice");
        const room = await createRoom(hs, alice, { preset: "public_chat" });
        for (const body of ["old 1", "old 2"]) await sendText(hs, alice, room, body);
        await hs.server.close();

        second = await restart(hs, { ...hs.config, appServiceConfigFiles: [file] });
        await sendText(second, alice, room, "new 1");
        await bridge.waitFor(() => texts(bridge.transactions).includes("new 1"), "the new event");
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(texts(bridge.transactions), ["new 1"], "no history");
        assert.equal(bridge.transactions.filter((t) => JSON.stringify(t.body).includes("m.room.create")).length, 0);
        assert.deepEqual(bridge.transactions.map(txnIdOf), [1], "the first transaction is 1");
      } finally {
        await second?.stop();
        await hs.stop();
        await bridge.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("stores the position past events a service is not interested in", async () => {
      const quiet = await FakeAppservice.start();
      // Interested in every event of the room: once it has the last one, the forwarder has looked at them all.
      const watcher = await FakeAppservice.start();
      const dir = await mkdtemp(join(tmpdir(), "weft-as-restart-"));
      const quietFile = join(dir, "quiet.yaml");
      const watcherFile = join(dir, "watcher.yaml");
      await writeFile(quietFile, registrationYaml({ id: "quiet", url: quiet.url, asToken: "as-z", hsToken: "hs-z", sender: "_z_bot", users: "[{exclusive: true, regex: '@_z_.*'}]" }));
      await writeFile(watcherFile, registrationYaml({ id: "watcher", url: watcher.url, asToken: "as-w", hsToken: "hs-w", sender: "_w_bot", users: "[{exclusive: false, regex: '@quiet_alice:.*'}]" }));
      const hs = await startRoomsHomeserver(engine, `app_service_config_files: [${JSON.stringify(quietFile)}, ${JSON.stringify(watcherFile)}]`);
      let second: TestHomeserver | undefined;
      try {
        const alice = await registerUser(hs, "quiet_alice");
        const room = await createRoom(hs, alice, { preset: "public_chat" });
        let last = "";
        for (const body of ["q1", "q2", "q3"]) last = await sendText(hs, alice, room, body);
        await watcher.waitFor(() => texts(watcher.transactions).includes("q3"), "the last event, at the other service");
        const position = (await hs.server.services.roomserver.getEvent(last))?.streamOrdering;
        assert.equal(typeof position, "number");
        await hs.server.close();

        second = await restart(hs);
        const state = await new AppserviceStore(second.server.services.db).streamState("quiet");
        assert.ok(state !== undefined && state.streamOrdering >= (position as number), `stored ${state?.streamOrdering}, last event at ${position}`);
        assert.equal(state.lastTxnId, 0, "no transaction");
        assert.equal(quiet.transactions.length, 0);
      } finally {
        await second?.stop();
        await hs.stop();
        await quiet.stop();
        await watcher.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
