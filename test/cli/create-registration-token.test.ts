import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openDatabase } from "../../src/storage/database.ts";
import { RegistrationTokenStore } from "../../src/storage/stores/registration-tokens.ts";
import { runWeft } from "./weft-process.ts";

// SQLite only: a config file cannot name a PostgreSQL schema, so on PostgreSQL the command would write
// into the shared test database's default schema; the store it calls is tested on both engines.
describe("weft create-registration-token [sqlite]", () => {
  it("creates tokens in the configured database and prints them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-cli-token-"));
    try {
      const dbPath = join(dir, "data", "homeserver.db");
      await writeFile(join(dir, "homeserver.yaml"), `server_name: cli.test\ndatabase: {name: sqlite3, args: {database: ${dbPath}}}\n`);
      const chosen = await runWeft(["create-registration-token", "--config", "homeserver.yaml", "--token", "welcome-1", "--uses-allowed", "5", "--expires-in-hours", "24"], dir);
      assert.equal(chosen.code, 0, chosen.stderr);
      assert.equal(chosen.stdout, "welcome-1\n");
      const random = await runWeft(["create-registration-token", "-c", "homeserver.yaml", "--length", "20"], dir);
      assert.equal(random.code, 0, random.stderr);
      assert.match(random.stdout, /^[A-Za-z0-9_-]{20}\n$/);
      const duplicate = await runWeft(["create-registration-token", "-c", "homeserver.yaml", "--token", "welcome-1"], dir);
      assert.equal(duplicate.code, 1);
      assert.match(duplicate.stderr, /already exists/);
      const bad = await runWeft(["create-registration-token", "-c", "homeserver.yaml", "--uses-allowed", "lots"], dir);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /--uses-allowed/);

      const db = await openDatabase({ engine: "sqlite", path: dbPath });
      try {
        const token = await new RegistrationTokenStore(db).get("welcome-1");
        assert.equal(token?.usesAllowed, 5);
        const inADay = Date.now() + 24 * 3_600_000;
        assert.ok(token?.expiryTime !== null && token !== undefined && Math.abs(token.expiryTime - inADay) < 600_000);
        assert.equal((await new RegistrationTokenStore(db).list()).length, 2);
      } finally {
        await db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
