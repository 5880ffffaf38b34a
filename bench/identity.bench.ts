// The identity service: POST /_matrix/identity/v2/lookup per second, each of 100 sha256 hashes (a
// client looking up its contacts; a tenth of them bound) in a store of 20,000 associations, 16
// connections, against a bare node:http server in the same run that reads the same SQLite file: it
// checks the bearer token's hash, parses the body, finds each hash by the same index and answers
// the mappings, doing none of the service's work (terms, schema, pepper and algorithm checks).
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { lookupHash } from "../src/core/identifiers/threepid.ts";
import { parseIdentityServiceConfig } from "../src/identity/config.ts";
import { startIdentityService } from "../src/identity/service.ts";
import { SqliteDatabase } from "../src/storage/sqlite-driver.ts";
import { loadTest, printFigure } from "./lib.ts";

const ASSOCIATIONS = 20_000;
const PER_LOOKUP = 100;

export async function identityBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "weft-bench-is-"));
  const dbPath = join(dir, "identity.db");
  const { config } = parseIdentityServiceConfig({ server_name: "id.bench", database: dbPath, log_level: "silent" }, dir);
  const service = await startIdentityService({ ...config, port: 0 }, pino({ level: "silent" }));
  const db = new SqliteDatabase(dbPath);
  db.pragma("journal_mode = WAL");
  const token = randomBytes(24).toString("base64url");
  const tokenHash = (t: string): string => createHash("sha256").update(t, "utf8").digest("hex");
  const pepper = (db.prepare("SELECT value FROM is_settings WHERE name = 'lookup_pepper'").get() as { value: string }).value;
  const now = Date.now();
  db.transaction(() => {
    db.prepare("INSERT INTO is_access_tokens (token_hash, user_id, created_ts) VALUES (?, ?, ?)").run(tokenHash(token), "@bench:hs.bench", now);
    const insert = db.prepare("INSERT INTO is_associations (medium, address, mxid, lookup_hash, ts, not_before, not_after) VALUES ('email', ?, ?, ?, ?, ?, ?)");
    for (let i = 0; i < ASSOCIATIONS; i++) insert.run(`user${i}@example.org`, `@user${i}:hs.bench`, lookupHash(`user${i}@example.org`, "email", pepper), now, now, now + 1e11);
  })();
  // A contact list: every tenth address is bound, the others are not.
  const addresses = Array.from({ length: PER_LOOKUP }, (_, i) => lookupHash(i % 10 === 0 ? `user${i * 150}@example.org` : `stranger${i}@example.net`, "email", pepper));
  const body = JSON.stringify({ algorithm: "sha256", pepper, addresses });

  // The baseline: token check, JSON body, one indexed SELECT per hash, the mappings answered.
  const userOfToken = db.prepare("SELECT user_id FROM is_access_tokens WHERE token_hash = ?");
  const byHash = db.prepare("SELECT mxid FROM is_associations WHERE lookup_hash = ?");
  const bare = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const auth = req.headers.authorization ?? "";
      if (!auth.startsWith("Bearer ") || userOfToken.get(tokenHash(auth.slice(7))) === undefined) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end('{"errcode":"M_UNAUTHORIZED","error":"Unrecognised access token"}');
        return;
      }
      const asked = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { addresses: string[] }).addresses;
      const mappings: Record<string, string> = {};
      for (const hash of asked) {
        const row = byHash.get(hash) as { mxid: string } | undefined;
        if (row !== undefined) mappings[hash] = row.mxid;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ mappings }));
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));

  try {
    // Both answer the same mappings: the ten bound addresses.
    for (const port of [service.addresses[0]?.port, (bare.address() as AddressInfo).port]) {
      const reply = await fetch(`http://127.0.0.1:${port}/_matrix/identity/v2/lookup`, { method: "POST", body, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } });
      const mappings = ((await reply.json()) as { mappings?: Record<string, string> }).mappings ?? {};
      if (Object.keys(mappings).length !== PER_LOOKUP / 10) throw new Error(`port ${port} answered ${JSON.stringify(mappings).slice(0, 200)}`);
    }
    const options = { method: "POST" as const, body, headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, connections: 16, durationSeconds: 5 };
    const ours = await loadTest(`http://127.0.0.1:${service.addresses[0]?.port}/_matrix/identity/v2/lookup`, options);
    const baseline = await loadTest(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/_matrix/identity/v2/lookup`, options);
    if (ours.non2xx > 0 || ours.errors > 0) throw new Error(`the identity service answered ${ours.non2xx} non-2xx, ${ours.errors} errors`);
    printFigure({
      name: `POST /_matrix/identity/v2/lookup, ${PER_LOOKUP} sha256 hashes each (${ASSOCIATIONS.toLocaleString("en")} associations), 16 connections`,
      value: ours.requestsPerSecond,
      unit: "req/s",
      better: "higher",
      baseline: { name: "bare node:http + the same SQLite lookups", value: baseline.requestsPerSecond },
    });
    console.log(`  latency p50/p99: identity service ${ours.latencyP50Ms}/${ours.latencyP99Ms} ms, bare ${baseline.latencyP50Ms}/${baseline.latencyP99Ms} ms`);
  } finally {
    await service.close();
    await new Promise<void>((resolve) => bare.close(() => resolve()));
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}
