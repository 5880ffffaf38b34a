import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDatabase } from "../../src/storage/database.ts";
import { UserStore } from "../../src/storage/stores/users.ts";
import { startChild } from "./child.ts";
import { createTestStorage, engines } from "./engines.ts";

for (const engine of engines) {
  describe(`durability [${engine}]`, () => {
    it("keeps every acknowledged write when the process is killed with SIGKILL", async () => {
      const storage = await createTestStorage(engine);
      try {
        // Migrate first, so the child is writing from its first moment.
        await (await openDatabase(storage.config)).close();
        const writer = startChild("durable-writer.ts", storage.config);
        await writer.waitForLines(300);
        writer.kill();
        const child = await writer.done;
        assert.equal(child.signal, "SIGKILL", `the child ended on its own: ${child.stderr}`);
        assert.ok(child.lines.length >= 300);

        const db = await openDatabase(storage.config);
        try {
          const users = new UserStore(db);
          const missing = [];
          for (const userId of child.lines) {
            if (!(await users.isUserIdTaken(userId))) missing.push(userId);
          }
          assert.deepEqual(missing, []);
        } finally {
          await db.close();
        }
      } finally {
        await storage.drop();
      }
    });
  });
}
