/**
 * End to end with the real client SDK: matrix-js-sdk's searchRoomEvents (what Element's search
 * calls) finds the messages of a room with their context, and backPaginateRoomEventsSearch follows
 * next_batch to the older ones.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ClientEvent, createClient, SyncState, type MatrixClient } from "matrix-js-sdk";
import { engines } from "../storage/engines.ts";
import { quiet } from "./sdk.ts";
import { registerUser, type TestUser } from "../homeserver/api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../homeserver/harness.ts";
import { SYNC_YAML } from "../homeserver/sync/helpers.ts";

for (const engine of engines) {
  describe(`matrix-js-sdk searchRoomEvents [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let client: MatrixClient | undefined;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: SYNC_YAML });
      alice = await registerUser(hs, "alice");
    });
    after(async () => {
      client?.stopClient();
      await hs.stop();
    });

    it("finds messages with their context, and pages back through older results", { timeout: 60_000 }, async () => {
      const sdk = createClient({ baseUrl: hs.baseUrl, userId: alice.userId, accessToken: alice.accessToken, deviceId: alice.deviceId, logger: quiet() });
      client = sdk;
      const prepared = new Promise<void>((resolve) => {
        const onSync = (state: SyncState): void => {
          if (state !== SyncState.Prepared) return;
          sdk.off(ClientEvent.Sync, onSync);
          resolve();
        };
        sdk.on(ClientEvent.Sync, onSync);
      });
      await sdk.startClient({ initialSyncLimit: 5 });
      await prepared;

      const { room_id: roomId } = await sdk.createRoom({ name: "Library" });
      const sent: string[] = [];
      for (let i = 0; i < 12; i++) sent.push((await sdk.sendTextMessage(roomId, `bookworm message ${i}`)).event_id);
      await sdk.sendTextMessage(roomId, "unrelated");

      const results = await sdk.searchRoomEvents({ term: "bookworm", filter: { rooms: [roomId] } });
      assert.equal(results.count, 12);
      assert.deepEqual(results.highlights, ["bookworm"]);
      // Newest first (order_by recent), ten a page (the default limit).
      assert.deepEqual(results.results.map((r) => r.context.getEvent().getId()), [...sent].reverse().slice(0, 10));
      const newest = results.results[0];
      assert.ok(newest !== undefined);
      // One event either side of each result: "unrelated" after the newest.
      assert.deepEqual(newest.context.getTimeline().map((e) => e.getContent()["body"]), ["bookworm message 10", "bookworm message 11", "unrelated"]);
      assert.equal(typeof results.next_batch, "string");

      const more = await sdk.backPaginateRoomEventsSearch(results);
      assert.deepEqual(more.results.map((r) => r.context.getEvent().getId()), [...sent].reverse());
      assert.equal(more.next_batch, undefined);
    });
  });
}
