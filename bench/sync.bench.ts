// Issue 5, sync:
// (a) messages sent to one room while a member long-polls /sync: 500 sent one after another by one
//     client, then 16 clients sending 200 each at once, to the same room of the same server process.
//     Messages per second, send-to-sync delivery p50/p99 and the server's peak RSS, each mode
//     measured on its own, in rounds (medians printed), against a bare node:http server in the same run that
//     checks the access token, stores the message in SQLite with the same settings (WAL,
//     synchronous=FULL, better-sqlite3), answers an event ID and wakes the same long-poll, doing none
//     of Matrix's work. Each server runs in its own process by plain Node (sync-servers.mjs: Weft's
//     compiled build, as `npm start` runs it); the load comes from keep-alive undici Pools in this one,
//     warmed up on a throwaway bare server first, so that both servers face the same generator.
// (b) the initial sync of a user in 500 rooms of 50 members and 20 messages each, with lazy-loaded
//     members, and an incremental sync with nothing new.
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import type { Requester } from "../src/http/endpoint.ts";
import { median, percentile, printFigure } from "./lib.ts";

const SEQUENTIAL_MESSAGES = 500;
const CONCURRENT_CLIENTS = 16;
const MESSAGES_PER_CLIENT = 200;
const ROOMS = Number(process.env.WEFT_BENCH_SYNC_ROOMS ?? 500);
const MEMBERS = 50;
const MESSAGES_PER_ROOM = 20;
/** The baseline's one room (it has no rooms of its own: it files every message under this ID). */
const ROOM = "!bench:bench.local";

const YAML = [
  "enable_registration: true",
  "enable_registration_without_verification: true",
  "rc_registration: {per_second: 1000000, burst_count: 1000000}",
  "rc_message: {per_second: 1000000, burst_count: 1000000}",
  "rc_joins: {local: {per_second: 1000000, burst_count: 1000000}}",
  "rc_login: {address: {per_second: 1000000, burst_count: 1000000}, account: {per_second: 1000000, burst_count: 1000000}, failed_attempts: {per_second: 1000000, burst_count: 1000000}}",
].join("\n");

// ---------------------------------------------------------------------------------------------
// The load generator.

interface ServerProcess {
  readonly baseUrl: string;
  /** The highest RSS seen since the last reset, sampled every 100 ms. */
  peakRss(): number;
  resetPeak(): void;
  /** The CPU time (user and system) the server's process has used so far, in ms: all its threads, and its main thread (NaN off Linux). */
  cpuMs(): Promise<{ all: number; main: number }>;
  stop(): Promise<void>;
}

async function startServer(kind: "weft" | "baseline", args: readonly string[]): Promise<ServerProcess> {
  const profile = process.env.WEFT_BENCH_PROF === kind ? ["--cpu-prof", `--cpu-prof-dir=${process.env.WEFT_BENCH_PROF_DIR ?? tmpdir()}`] : [];
  const child: ChildProcess = fork(fileURLToPath(new URL("sync-servers.mjs", import.meta.url)), [kind, ...args], {
    execArgv: [...profile, ...(kind === "weft" ? (process.env.WEFT_BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean) : [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`the ${kind} server exited with ${code}`)));
  });
  let peak = 0;
  child.on("message", (m) => {
    const rss = (m as { rss?: number }).rss;
    if (rss !== undefined) peak = Math.max(peak, rss);
  });
  const sampler = setInterval(() => child.send("rss"), 100);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    peakRss: () => peak,
    resetPeak: () => {
      peak = 0;
    },
    cpuMs: () =>
      new Promise<{ all: number; main: number }>((resolve) => {
        const onMessage = (m: unknown): void => {
          const { cpuMs, mainMs } = m as { cpuMs?: number; mainMs?: number };
          if (cpuMs === undefined) return;
          child.off("message", onMessage);
          resolve({ all: cpuMs, main: mainMs ?? NaN });
        };
        child.on("message", onMessage);
        child.send("cpu");
      }),
    stop: async () => {
      clearInterval(sampler);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function requestJson(pool: Pool, method: "GET" | "PUT" | "POST", path: string, token?: string, body?: unknown): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers["authorization"] = `Bearer ${token}`;
  const res = await pool.request({ method, path, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.body.json()) as Record<string, unknown>;
  if (res.statusCode !== 200) throw new Error(`${method} ${path} answered ${res.statusCode}: ${JSON.stringify(json)}`);
  return json;
}

async function register(pool: Pool, username: string): Promise<{ userId: string; token: string }> {
  const body = { username, password: `pw-${username}`, auth: { type: "m.login.dummy" } };
  const reply = await requestJson(pool, "POST", "/_matrix/client/v3/register", undefined, body);
  return { userId: reply["user_id"] as string, token: reply["access_token"] as string };
}

interface RunResult {
  readonly messagesPerSecond: number;
  readonly deliveryP50Ms: number;
  readonly deliveryP99Ms: number;
  readonly missing: number;
}

/**
 * Sends `perSender` messages from each sender (each sender one after another, the senders at once)
 * while `syncer` long-polls, and measures when each message shows up in its sync.
 */
async function runMessages(baseUrl: string, roomId: string, senders: readonly string[], syncer: string, perSender: number, filter: string, poll = true): Promise<RunResult> {
  const syncPool = new Pool(baseUrl, { connections: 1 });
  const pools = senders.map(() => new Pool(baseUrl, { connections: 1 }));
  const sentAt = new Map<string, number>();
  const delivered = new Map<string, number>();
  const total = senders.length * perSender;
  const roomPath = encodeURIComponent(roomId);
  let since = (await requestJson(syncPool, "GET", `/_matrix/client/v3/sync?filter=${encodeURIComponent(filter)}`, syncer))["next_batch"] as string;
  let stop = false;
  const polling = (async () => {
    while (poll && !stop && delivered.size < total) {
      const reply = await requestJson(syncPool, "GET", `/_matrix/client/v3/sync?timeout=5000&since=${encodeURIComponent(since)}&filter=${encodeURIComponent(filter)}`, syncer);
      const now = performance.now();
      since = reply["next_batch"] as string;
      const room = ((reply["rooms"] as Record<string, unknown> | undefined)?.["join"] as Record<string, unknown> | undefined)?.[roomId] as Record<string, unknown> | undefined;
      const events = ((room?.["timeline"] as Record<string, unknown> | undefined)?.["events"] as Record<string, unknown>[] | undefined) ?? [];
      for (const event of events) {
        const marker = (event["content"] as Record<string, unknown> | undefined)?.["body"];
        if (typeof marker === "string" && sentAt.has(marker) && !delivered.has(marker)) delivered.set(marker, now);
      }
    }
  })();

  const start = performance.now();
  let lastAck = start;
  await Promise.all(
    senders.map(async (token, s) => {
      const pool = pools[s] as Pool;
      for (let i = 0; i < perSender; i++) {
        const marker = `m${s}-${i}-${randomBytes(4).toString("hex")}`;
        sentAt.set(marker, performance.now());
        await requestJson(pool, "PUT", `/_matrix/client/v3/rooms/${roomPath}/send/m.room.message/${marker}`, token, { msgtype: "m.text", body: marker });
        lastAck = performance.now();
      }
    }),
  );
  const messagesPerSecond = (total / (lastAck - start)) * 1000;
  // Every message should arrive; wait for the poller a little, then stop it.
  const deadline = poll ? performance.now() + 30_000 : 0;
  while (delivered.size < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await polling.catch(() => undefined);
  await Promise.all([syncPool.close(), ...pools.map((p) => p.close())]);
  const latencies = [...delivered].map(([marker, at]) => at - (sentAt.get(marker) as number));
  return { messagesPerSecond, deliveryP50Ms: percentile(latencies, 0.5), deliveryP99Ms: percentile(latencies, 0.99), missing: poll ? total - delivered.size : 0 };
}

interface MeasuredRun extends RunResult {
  readonly peakRssMb: number;
  /** The server's CPU time a message, all its threads (the JIT compiler and GC helpers among them) and its main thread. */
  readonly cpuMsPerMessage: number;
  readonly mainCpuMsPerMessage: number;
}

async function measured(server: ServerProcess, messages: number, run: () => Promise<RunResult>): Promise<MeasuredRun> {
  const before = await server.cpuMs();
  const result = await run();
  const after = await server.cpuMs();
  return {
    ...result,
    peakRssMb: server.peakRss() / 2 ** 20,
    cpuMsPerMessage: (after.all - before.all) / messages,
    mainCpuMsPerMessage: (after.main - before.main) / messages,
  };
}

interface Mode {
  readonly name: string;
  readonly senders: number;
  readonly perSender: number;
}

/**
 * The scenario on one fresh server of `kind`: its users and room, then each mode in turn (the issue's
 * 500 messages one after another, then 16 clients at once) to the same room. Each mode is measured
 * on its own (rate, delivery, CPU time), with the server's peak RSS since the scenario began.
 */
async function scenarioOn(kind: "weft" | "baseline", modes: readonly Mode[], poll = true): Promise<MeasuredRun[]> {
  const dir = await mkdtemp(join(tmpdir(), "weft-bench-sync-"));
  const userCount = Math.max(...modes.map((m) => m.senders)) + 1;
  // The baseline knows its users' tokens from the start; Weft's register and join a room.
  const bareUsers = Array.from({ length: userCount }, (_, i) => [randomBytes(24).toString("base64url"), `@u${i}:bench.local`] as const);
  const server = kind === "baseline" ? await startServer("baseline", [dir, JSON.stringify(bareUsers)]) : await startServer("weft", [YAML]);
  try {
    const { roomId, tokens, filter } = kind === "baseline" ? { roomId: ROOM, tokens: bareUsers.map(([token]) => token), filter: "{}" } : await weftRoom(server, userCount);
    server.resetPeak();
    const runs: MeasuredRun[] = [];
    for (const mode of modes) {
      const senders = tokens.slice(1, 1 + mode.senders);
      runs.push(await measured(server, mode.senders * mode.perSender, () => runMessages(server.baseUrl, roomId, senders, tokens[0] as string, mode.perSender, filter, poll)));
    }
    return runs;
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Weft's side of the scenario: `count` users, the first one's public room, and the others joined to it. */
async function weftRoom(server: ServerProcess, count: number): Promise<{ roomId: string; tokens: string[]; filter: string }> {
  const pool = new Pool(server.baseUrl, { connections: 8 });
  try {
    const tokens = (await Promise.all(Array.from({ length: count }, (_, i) => register(pool, `u${i}`)))).map((u) => u.token);
    const roomId = (await requestJson(pool, "POST", "/_matrix/client/v3/createRoom", tokens[0], { preset: "public_chat" }))["room_id"] as string;
    for (const token of tokens.slice(1)) await requestJson(pool, "POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, token, {});
    // A timeline limit above any burst: every message is in a sync, none in a gap.
    return { roomId, tokens, filter: JSON.stringify({ room: { timeline: { limit: 1000 } } }) };
  } finally {
    await pool.close();
  }
}

/** Rounds of part (a) unless WEFT_BENCH_SYNC_ROUNDS says otherwise: one round's ratio swings by a third on a busy VM. */
const ROUNDS = Math.max(1, Number(process.env.WEFT_BENCH_SYNC_ROUNDS ?? 3));

function listed(values: readonly number[], digits: number): string {
  return values.map((v) => v.toFixed(digits)).join(", ");
}

async function messagesBench(): Promise<void> {
  const modes: Mode[] = [
    { name: `${SEQUENTIAL_MESSAGES} messages one after another, 1 client`, senders: 1, perSender: SEQUENTIAL_MESSAGES },
    { name: `then ${CONCURRENT_CLIENTS} clients x ${MESSAGES_PER_CLIENT} messages at once`, senders: CONCURRENT_CLIENTS, perSender: MESSAGES_PER_CLIENT },
  ].filter((mode) => process.env.WEFT_BENCH_SYNC_MODE === undefined || mode.name.includes(process.env.WEFT_BENCH_SYNC_MODE));
  if (modes.length === 0) throw new Error(`WEFT_BENCH_SYNC_MODE=${process.env.WEFT_BENCH_SYNC_MODE ?? ""} names no mode; the modes are "one after another" and "at once"`);
  // The load generator runs in this process, and its own code warms up as it works: measured first
  // and cold, Weft had a slower generator than the baseline after it (about 10% of the sequential
  // rate on a 2-core machine). So the generator first runs the whole scenario against a throwaway
  // bare server. Each measured server is a fresh process, cold when the scenario begins.
  await scenarioOn("baseline", modes);
  // Rounds of Weft and the baseline side by side, each round's pair measured within a minute
  // and in alternating order, so that a slow spell of the machine falls on both alike; the figures
  // are the rounds' medians (the rates those of the round of the median ratio), each round's ratio
  // listed beside them.
  const rounds: Array<{ weft: MeasuredRun[]; bare: MeasuredRun[]; alone: MeasuredRun[] }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const weftFirst = round % 2 === 0;
    const first = await scenarioOn(weftFirst ? "weft" : "baseline", modes);
    const second = await scenarioOn(weftFirst ? "baseline" : "weft", modes);
    // Where the time goes: the same sends with nobody syncing.
    const alone = await scenarioOn("weft", modes, false);
    rounds.push(weftFirst ? { weft: first, bare: second, alone } : { weft: second, bare: first, alone });
  }
  modes.forEach((mode, i) => {
    const of = (pick: (r: (typeof rounds)[number]) => MeasuredRun[], field: (m: MeasuredRun) => number): number[] =>
      rounds.map((r) => field(pick(r)[i] as MeasuredRun));
    const weft = (field: (m: MeasuredRun) => number): number => median(of((r) => r.weft, field));
    const bare = (field: (m: MeasuredRun) => number): number => median(of((r) => r.bare, field));
    const alone = (field: (m: MeasuredRun) => number): number => median(of((r) => r.alone, field));
    const rateRatios = rounds.map((r) => (r.weft[i] as MeasuredRun).messagesPerSecond / (r.bare[i] as MeasuredRun).messagesPerSecond);
    const p99Ratios = rounds.map((r) => (r.weft[i] as MeasuredRun).deliveryP99Ms / (r.bare[i] as MeasuredRun).deliveryP99Ms);
    const aloneRatios = rounds.map((r) => (r.alone[i] as MeasuredRun).messagesPerSecond / (r.bare[i] as MeasuredRun).messagesPerSecond);
    // The headline is the round of the median ratio: its two rates, measured side by side.
    const middle = rounds[rateRatios.indexOf(median(rateRatios))] as (typeof rounds)[number];
    printFigure({
      name: `send + long-poll /sync, ${mode.name} (the median of ${ROUNDS} rounds)`,
      value: (middle.weft[i] as MeasuredRun).messagesPerSecond,
      unit: "msg/s",
      better: "higher",
      baseline: { name: "bare node:http + SQLite insert + long-poll", value: (middle.bare[i] as MeasuredRun).messagesPerSecond },
    });
    console.log(`  each round's ratio: ${listed(rateRatios, 3)}`);
    console.log(
      `  send-to-sync delivery p50/p99: weft ${weft((m) => m.deliveryP50Ms).toFixed(1)}/${weft((m) => m.deliveryP99Ms).toFixed(1)} ms, ` +
        `bare ${bare((m) => m.deliveryP50Ms).toFixed(1)}/${bare((m) => m.deliveryP99Ms).toFixed(1)} ms ` +
        `(p99 ratio each round: ${listed(p99Ratios, 2)}; median ${median(p99Ratios).toFixed(2)})`,
    );
    const peak = (runs: (r: (typeof rounds)[number]) => MeasuredRun[]): number => Math.max(...of(runs, (m) => m.peakRssMb));
    const missing = (runs: (r: (typeof rounds)[number]) => MeasuredRun[]): number => of(runs, (m) => m.missing).reduce((a, b) => a + b, 0);
    console.log(
      `  peak RSS so far, highest of the rounds: weft ${peak((r) => r.weft).toFixed(0)} MB, bare ${peak((r) => r.bare).toFixed(0)} MB; ` +
        `undelivered: weft ${missing((r) => r.weft)}, bare ${missing((r) => r.bare)}`,
    );
    console.log(
      `  server CPU a message (user + system, all threads / main thread): weft ${weft((m) => m.cpuMsPerMessage).toFixed(2)} / ${weft((m) => m.mainCpuMsPerMessage).toFixed(2)} ms, ` +
        `bare ${bare((m) => m.cpuMsPerMessage).toFixed(2)} / ${bare((m) => m.mainCpuMsPerMessage).toFixed(2)} ms`,
    );
    console.log(
      `  weft sends alone, nobody syncing: ${alone((m) => m.messagesPerSecond).toFixed(0)} msg/s (of the baseline, each round: ${listed(aloneRatios, 3)}), ` +
        `server CPU a message ${alone((m) => m.cpuMsPerMessage).toFixed(2)} / ${alone((m) => m.mainCpuMsPerMessage).toFixed(2)} ms`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// (b) Initial and empty incremental syncs of a user in many rooms.

async function roomsBench(): Promise<void> {
  const { startBenchHomeserver } = await import("./http-versions.bench.ts");
  const hs = await startBenchHomeserver(YAML);
  try {
    const pool = new Pool(hs.baseUrl, { connections: 16 });
    const users = await Promise.all(Array.from({ length: MEMBERS }, (_, i) => register(pool, `member${i}`)));
    const syncer = users[0] as { userId: string; token: string };
    const { roomserver } = hs.server.services;
    const setupStart = performance.now();
    // Rooms made through /createRoom; the joins and messages go straight into the room engine's
    // one pipeline (as the join and send endpoints would put them), a room's events batched.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ROOMS) {
          const n = next++;
          const creator = users[n % MEMBERS] as { userId: string; token: string };
          const roomId = (await requestJson(pool, "POST", "/_matrix/client/v3/createRoom", creator.token, { preset: "public_chat", name: `room ${n}` }))["room_id"] as string;
          await Promise.all(
            users
              .filter((u) => u !== creator)
              .map((u) =>
                roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: u.userId, sender: u.userId, content: { membership: "join", displayname: u.userId.slice(1, 9) } }),
              ),
          );
          for (let i = 0; i < MESSAGES_PER_ROOM; i++) {
            const sender = users[(n + i * 7) % MEMBERS] as { userId: string };
            await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: sender.userId, content: { msgtype: "m.text", body: `message ${i} in room ${n}` } });
          }
        }
      }),
    );
    console.log(`  set-up: ${ROOMS} rooms x ${MEMBERS} members x ${MESSAGES_PER_ROOM} messages in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);
    await hs.server.services.rooms.membershipIndex.waitUntil(hs.server.services.rooms.membershipIndex.position);

    const filter = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true } } }));
    const initial: number[] = [];
    let token = "";
    let joined = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const reply = await requestJson(pool, "GET", `/_matrix/client/v3/sync?filter=${filter}`, syncer.token);
      initial.push(performance.now() - t0);
      token = reply["next_batch"] as string;
      joined = Object.keys(((reply["rooms"] as Record<string, unknown>)["join"] as Record<string, unknown> | undefined) ?? {}).length;
    }
    if (joined !== ROOMS) throw new Error(`the initial sync had ${joined} joined rooms, not ${ROOMS}`);
    const warm = initial.slice(1);
    printFigure({ name: `initial /sync, ${ROOMS} rooms x ${MEMBERS} members x ${MESSAGES_PER_ROOM} messages, lazy-loaded members (median of 4 after a first)`, value: percentile(warm, 0.5), unit: "ms", better: "lower", baseline: { name: "target", value: 500 } });
    console.log(`  first (cold caches): ${(initial[0] as number).toFixed(0)} ms`);

    const incremental: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await requestJson(pool, "GET", `/_matrix/client/v3/sync?filter=${filter}&timeout=0&since=${encodeURIComponent(token)}`, syncer.token);
      incremental.push(performance.now() - t0);
    }
    printFigure({ name: "incremental /sync with nothing new, over HTTP (median)", value: percentile(incremental, 0.5), unit: "ms", better: "lower", baseline: { name: "target", value: 2 } });
    // The same, inside the server: what the sync service itself costs.
    const requester: Requester = { userId: syncer.userId, deviceId: undefined, isGuest: false, accessTokenId: undefined };
    const params = { since: token, filter: decodeURIComponent(filter), fullState: false, setPresence: undefined, timeoutMs: 0 };
    const service: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      await hs.server.services.sync.sync.sync(requester, params);
      service.push(performance.now() - t0);
    }
    console.log(`  p99 over HTTP ${percentile(incremental, 0.99).toFixed(2)} ms; in the sync service alone: p50 ${percentile(service, 0.5).toFixed(3)} ms, p99 ${percentile(service, 0.99).toFixed(3)} ms`);
    await pool.close();
  } finally {
    await hs.stop();
  }
}

/**
 * WEFT_BENCH_SYNC_PART=a or b runs one part (WEFT_BENCH_SYNC_MODE=<words of a mode's name>, e.g. "one after" or "at once", one mode of a,
 * WEFT_BENCH_SYNC_ROUNDS=<n> its rounds);
 * WEFT_BENCH_PROF=weft|baseline profiles that server (--cpu-prof, into WEFT_BENCH_PROF_DIR or the
 * temporary folder); WEFT_BENCH_NODE_FLAGS="..." runs Weft's server with those Node flags (to try V8 settings).
 */
export async function syncBench(): Promise<void> {
  const part = process.env.WEFT_BENCH_SYNC_PART;
  if (part !== "b") await messagesBench();
  if (part !== "a") await roomsBench();
}
