// A long-polling /sync whose client hangs up ends at once (the HTTP layer's abort signal reaches
// the sync service), so clients that went away hold no waiters or memory until their timeout; and
// a server shutting down answers its long-polls at once rather than stay up until they time out.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { registerUser, type TestUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { SYNC_YAML, createRoom, type Json } from "./helpers.ts";

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const engine of engines) {
  describe(`a long-poll whose client hangs up [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: SYNC_YAML });
      alice = await registerUser(hs, "alice");
      await createRoom(hs, alice);
    });
    after(() => hs.stop());

    it("ends the wait when the connection closes", async () => {
      const headers = { authorization: `Bearer ${alice.accessToken}` };
      const first = await fetch(`${hs.baseUrl}/_matrix/client/v3/sync`, { headers });
      const since = ((await first.json()) as Json)["next_batch"] as string;
      const notifier = hs.server.services.sync.notifier;
      const before = notifier.stats().waiters;
      // Ten minutes: only the hang-up can end it within the test.
      const req = request(`${hs.baseUrl}/_matrix/client/v3/sync?timeout=600000&since=${encodeURIComponent(since)}`, { headers });
      const closed = new Promise<void>((resolve) => req.on("close", resolve));
      req.on("error", () => undefined);
      req.end();
      await until(() => notifier.stats().waiters === before + 1, "the sync to wait");
      req.destroy();
      await closed;
      await until(() => notifier.stats().waiters === before, "the wait to end");
      assert.equal(notifier.stats().waiters, before);
    });
  });
}

for (const engine of engines) {
  describe(`a server shutting down [${engine}]`, () => {
    it("answers its long-polls at once", { timeout: 120_000 }, async () => {
      const hs = await startTestHomeserver(engine, { yaml: SYNC_YAML });
      const alice = await registerUser(hs, "alice");
      const headers = { authorization: `Bearer ${alice.accessToken}` };
      const first = await fetch(`${hs.baseUrl}/_matrix/client/v3/sync`, { headers });
      const since = ((await first.json()) as Json)["next_batch"] as string;
      const notifier = hs.server.services.sync.notifier;
      // Ten minutes: only the shutdown can end it within the test.
      const polling = fetch(`${hs.baseUrl}/_matrix/client/v3/sync?timeout=600000&since=${encodeURIComponent(since)}`, { headers });
      await until(() => notifier.stats().waiters === 1, "the sync to wait");
      const stopped = hs.stop();
      const reply = await polling;
      assert.equal(reply.status, 200);
      assert.equal(((await reply.json()) as Json)["next_batch"], since, "nothing happened meanwhile");
      await stopped;
    });
  });
}
