// The two servers of the sync benchmark (sync.bench.ts), each run in its own process by plain Node, as
// `npm start` runs Weft: the compiled build in dist/ (`npm run bench` builds it first), no TypeScript
// loader in memory. Usage: node sync-servers.mjs weft <yaml> | baseline <dir> <tokens JSON>.
// The process reports its port, then answers "rss" and "cpu" messages over IPC.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOM = "!bench:bench.local";

/** The baseline: token check, one INSERT per message, a long-poll woken by inserts. */
async function serveBaseline(dir, tokens) {
  // The same SQLite build as Weft's, and its settings (WAL, synchronous=FULL).
  const { SqliteDatabase } = await import("../dist/storage/sqlite-driver.js");
  const db = new SqliteDatabase(join(dir, "baseline.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(
    "CREATE TABLE events (stream INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, room_id TEXT NOT NULL, " +
      "sender TEXT NOT NULL, type TEXT NOT NULL, txn_id TEXT NOT NULL, content TEXT NOT NULL, ts INTEGER NOT NULL)",
  );
  const insert = db.prepare("INSERT INTO events (event_id, room_id, sender, type, txn_id, content, ts) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const after = db.prepare("SELECT stream, event_id, sender, type, content, ts FROM events WHERE stream > ? ORDER BY stream LIMIT 1000");
  const users = new Map(tokens.map(([token, userId]) => [createHash("sha256").update(token).digest("hex"), userId]));
  let head = 0;
  let waiters = [];

  const json = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const readBody = (req) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });
  const syncBody = (since) => {
    const rows = after.all(since);
    const events = rows.map((r) => ({ event_id: r.event_id, sender: r.sender, type: r.type, content: JSON.parse(r.content), origin_server_ts: r.ts }));
    const next = rows.at(-1)?.stream ?? since;
    return { next_batch: String(next), rooms: events.length === 0 ? {} : { join: { [ROOM]: { timeline: { events } } } } };
  };

  const server = createServer((req, res) => {
    void (async () => {
      const auth = req.headers.authorization;
      const userId = auth?.startsWith("Bearer ") === true ? users.get(createHash("sha256").update(auth.slice(7)).digest("hex")) : undefined;
      if (userId === undefined) return json(res, 401, { errcode: "M_UNKNOWN_TOKEN", error: "Unknown token" });
      const url = new URL(req.url ?? "/", "http://x");
      const send = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/send\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (req.method === "PUT" && send !== null) {
        const content = JSON.parse(await readBody(req));
        const eventId = `$${randomBytes(32).toString("base64url")}`;
        const result = insert.run(eventId, decodeURIComponent(send[1]), userId, decodeURIComponent(send[2]), send[3], JSON.stringify(content), Date.now());
        head = Number(result.lastInsertRowid);
        const woken = waiters;
        waiters = [];
        for (const wake of woken) wake();
        return json(res, 200, { event_id: eventId });
      }
      if (req.method === "GET" && url.pathname === "/_matrix/client/v3/sync") {
        const since = Number(url.searchParams.get("since") ?? "0");
        const timeout = Number(url.searchParams.get("timeout") ?? "0");
        if (head <= since && timeout > 0) {
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, timeout);
            waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        return json(res, 200, syncBody(since));
      }
      return json(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    })();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server.address().port;
}

/** Weft on its embedded default (SQLite), server name bench.local, with the benchmark's YAML added. */
async function serveWeft(extraYaml) {
  const { default: pino } = await import("pino");
  const { parseConfigText } = await import("../dist/config/index.js");
  const { startHomeserver } = await import("../dist/homeserver/server.js");
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const yaml = ["server_name: bench.local", "listeners: [{port: 1, bind_addresses: ['127.0.0.1'], type: http, resources: [{names: [client, federation, keys]}]}]", extraYaml].join("\n");
  const { config } = parseConfigText(yaml, join(dir, "homeserver.yaml"));
  const server = await startHomeserver({ ...config, listeners: config.listeners.map((l) => ({ ...l, port: 0 })) }, pino({ level: "silent" }));
  return server.addresses[0].port;
}

const [kind, ...args] = process.argv.slice(2);
const port = kind === "baseline" ? await serveBaseline(args[0], JSON.parse(args[1])) : await serveWeft(args[0] ?? "");
// A normal exit, so that a --cpu-prof profile is written.
process.on("SIGTERM", () => process.exit(0));
process.on("message", (message) => {
  if (message === "rss") process.send?.({ rss: process.memoryUsage().rss });
  if (message === "cpu") {
    const { user, system } = process.cpuUsage();
    // The main thread's share, from Linux's per-thread accounting (in clock ticks of 10 ms).
    let mainMs = NaN;
    try {
      const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      mainMs = (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // not Linux
    }
    process.send?.({ cpuMs: (user + system) / 1000, mainMs });
  }
});
process.send?.({ port });
