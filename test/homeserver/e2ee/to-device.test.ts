/**
 * Send-to-device messaging (modules/send_to_device.md) on both engines: PUT /sendToDevice over real
 * HTTP, delivery in order of arrival with a bound per batch, deletion once acknowledged, one
 * delivery per transaction ID, `*` for every device, and the notifier woken for the recipients.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { ToDeviceService, type DirectToDeviceEdu } from "../../../src/homeserver/e2ee/to-device-service.ts";
import type { StreamName } from "../../../src/homeserver/sync/token.ts";
import { ToDeviceStore } from "../../../src/storage/stores/to-device.ts";
import { engines, forEachEngine } from "../../storage/engines.ts";
import { assertError, call, login, registerUser, withPasswordUia, type TestUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML } from "./helpers.ts";

const sendPath = (type: string, txnId: string): string => `/_matrix/client/v3/sendToDevice/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`;

for (const engine of engines) {
  describe(`sendToDevice [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    const send = (from: TestUser, type: string, txnId: string, messages: JsonObject) =>
      call(hs, "PUT", sendPath(type, txnId), { token: from.accessToken, body: { messages } });

    it("delivers to one device or all, in order, once per transaction ID, and forgets what was acknowledged", async () => {
      const alice = await registerUser(hs, "tdalice", { device_id: "A1" });
      const bob = await registerUser(hs, "tdbob", { device_id: "B1" });
      await login(hs, "tdbob", bob.password, { device_id: "B2" });
      const toDevice = hs.server.services.e2ee.toDevice;
      const start = toDevice.position();

      assert.equal((await send(alice, "m.test", "t1", { [bob.userId]: { B1: { n: 1 } } })).status, 200);
      assert.equal((await send(alice, "m.test", "t1", { [bob.userId]: { B1: { n: 1 } } })).status, 200, "a retry answers 200");
      assert.equal((await send(alice, "m.test", "t2", { [bob.userId]: { "*": { n: 2 }, B2: { n: 22 }, NOSUCH: { n: 0 } } })).status, 200);

      const b1 = await toDevice.messagesFor(bob.userId, "B1", start, 100);
      assert.deepEqual(b1.events, [
        { sender: alice.userId, type: "m.test", content: { n: 1 } },
        { sender: alice.userId, type: "m.test", content: { n: 2 } },
      ]);
      const b2 = await toDevice.messagesFor(bob.userId, "B2", start, 100);
      assert.deepEqual(b2.events, [{ sender: alice.userId, type: "m.test", content: { n: 22 } }], "the device named gets its own message instead of *'s");
      assert.equal(b1.lastPosition, toDevice.position());

      // A new sync without acknowledging sees them again; acknowledging deletes them.
      assert.equal((await toDevice.messagesFor(bob.userId, "B1", start, 100)).events.length, 2);
      await toDevice.acknowledge(bob.userId, "B1", b1.lastPosition);
      assert.deepEqual((await toDevice.messagesFor(bob.userId, "B1", start, 100)).events, []);
      assert.equal((await toDevice.messagesFor(bob.userId, "B2", start, 100)).events.length, 1, "other devices keep theirs");

      // The same transaction ID from another device of the sender is another transaction.
      const alice2 = (await login(hs, "tdalice", alice.password, { device_id: "A2" })).body;
      const fromA2: TestUser = { ...alice, accessToken: alice2["access_token"] as string, deviceId: "A2" };
      assert.equal((await send(fromA2, "m.test", "t1", { [bob.userId]: { B1: { n: 3 } } })).status, 200);
      assert.deepEqual((await toDevice.messagesFor(bob.userId, "B1", b1.lastPosition, 100)).events.map((e) => e["content"]), [{ n: 3 }]);
    });

    it("cuts a long queue into batches of the limit, in order", async () => {
      const carol = await registerUser(hs, "tdcarol", { device_id: "C1" });
      const dave = await registerUser(hs, "tddave", { device_id: "D1" });
      const toDevice = hs.server.services.e2ee.toDevice;
      const start = toDevice.position();
      for (let i = 0; i < 7; i++) assert.equal((await send(carol, "m.seq", `s${i}`, { [dave.userId]: { D1: { i } } })).status, 200);
      const seen: number[] = [];
      let position = start;
      for (;;) {
        const batch = await toDevice.messagesFor(dave.userId, "D1", position, 3);
        seen.push(...batch.events.map((e) => (e["content"] as { i: number }).i));
        await toDevice.acknowledge(dave.userId, "D1", batch.lastPosition);
        if (batch.events.length < 3) break;
        assert.ok(batch.lastPosition > position);
        position = batch.lastPosition;
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
    });

    it("deletes a device's pending messages with the device, and refuses bad requests", async () => {
      const erin = await registerUser(hs, "tderin", { device_id: "E1" });
      await login(hs, "tderin", erin.password, { device_id: "E2" });
      const toDevice = hs.server.services.e2ee.toDevice;
      const start = toDevice.position();
      assert.equal((await send(erin, "m.x", "d1", { [erin.userId]: { E2: { hello: true } } })).status, 200);
      assert.equal((await toDevice.messagesFor(erin.userId, "E2", start, 100)).events.length, 1);
      assert.equal((await withPasswordUia(hs, "DELETE", "/_matrix/client/v3/devices/E2", erin)).status, 200);
      assert.deepEqual((await toDevice.messagesFor(erin.userId, "E2", start, 100)).events, []);

      assertError(await call(hs, "PUT", sendPath("m.x", "bad1"), { token: erin.accessToken, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await send(erin, "m.x", "bad2", { [erin.userId]: { E1: "text" } }), 400, "M_BAD_JSON");
      assertError(await send(erin, "m.x", "bad3", { "not-a-user": { E1: {} } }), 400, "M_INVALID_PARAM");
      assertError(await send(erin, "x".repeat(256), "bad4", { [erin.userId]: { E1: {} } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", sendPath("m.x", "bad5"), { body: { messages: {} } }), 401, "M_MISSING_TOKEN");
    });
  });
}

forEachEngine("ToDeviceService", (getDb) => {
  const devices = new Map<string, string[]>([
    ["@u:hs.test", ["U1", "U2"]],
    ["@v:hs.test", ["V1"]],
  ]);
  const lister = { listDevices: async (userId: string) => (devices.get(userId) ?? []).map((deviceId) => ({ deviceId })) };
  const requester = (userId: string, deviceId: string) => ({ userId, deviceId, isGuest: false, accessTokenId: undefined });

  it("notifies the recipients on the toDevice stream, and hands other servers' messages to the federation sender", async () => {
    const notified: { stream: StreamName; position: number; userIds: string[] }[] = [];
    const sent: { destination: string; edu: DirectToDeviceEdu }[] = [];
    const service = await ToDeviceService.create(
      new ToDeviceStore(getDb()),
      "hs.test",
      lister,
      { notify: (stream, position, concerns) => notified.push({ stream, position, userIds: [...(concerns?.userIds ?? [])] }) },
      { remote: { send: async (destination, edu) => void sent.push({ destination, edu }) } },
    );
    await service.send(requester("@v:hs.test", "V1"), "m.key.verification.request", "n1", {
      "@u:hs.test": { "*": { a: 1 } },
      "@far:remote.test": { FARDEV: { b: 2 } },
    });
    assert.equal(notified.length, 1);
    assert.equal(notified[0]?.stream, "toDevice");
    assert.deepEqual(notified[0]?.userIds, ["@u:hs.test"]);
    assert.equal(notified[0]?.position, service.position());
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.destination, "remote.test");
    assert.deepEqual(sent[0]?.edu.messages, { "@far:remote.test": { FARDEV: { b: 2 } } });
    assert.equal(sent[0]?.edu.sender, "@v:hs.test");

    // A retry: nothing stored, nobody notified, nothing sent again.
    await service.send(requester("@v:hs.test", "V1"), "m.key.verification.request", "n1", { "@u:hs.test": { "*": { a: 1 } }, "@far:remote.test": { FARDEV: { b: 2 } } });
    assert.equal(notified.length, 1);
    assert.equal(sent.length, 1);

    // Messages received over federation reach local devices once per message_id.
    const edu: DirectToDeviceEdu = { sender: "@far:remote.test", type: "m.room_key_request", message_id: "m1", messages: { "@v:hs.test": { V1: { c: 3 } } } };
    await service.receiveRemote("remote.test", edu);
    await service.receiveRemote("remote.test", edu);
    const got = await service.messagesFor("@v:hs.test", "V1", 0, 100);
    assert.deepEqual(got.events, [{ sender: "@far:remote.test", type: "m.room_key_request", content: { c: 3 } }]);
  });

  it("keeps its position across a restart even when every message was acknowledged", async () => {
    const store = new ToDeviceStore(getDb());
    const notifier = { notify: () => undefined };
    const first = await ToDeviceService.create(store, "hs.test", lister, notifier);
    await first.send(requester("@u:hs.test", "U1"), "m.t", "r1", { "@v:hs.test": { V1: {} } });
    const position = first.position();
    await first.acknowledge("@v:hs.test", "V1", position);
    const restarted = await ToDeviceService.create(store, "hs.test", lister, notifier);
    assert.equal(restarted.position(), position);
  });
});
