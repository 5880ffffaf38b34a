/**
 * Weft homeservers federating over TLS on loopback, for the room federation tests: like
 * tls-homeserver.ts, but a server can be stopped and started again on the same port, name,
 * signing key and database (to test what survives a restart), and it comes with helpers to make
 * rooms and events on it without the client API.
 *
 *   const pki = await createTestPki();
 *   const a = await startFederatedServer("sqlite", pki, "localhost");
 *   const roomId = await a.createRoom("@alice:" + a.serverName, { preset: "public" });
 *   await a.stop(); await a.start(); ...; await a.destroy();
 */
import { mkdtemp, rm } from "node:fs/promises";
import { after, before } from "node:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { parseConfigText, type HomeserverConfig } from "../../../src/config/index.ts";
import { stateMapKey, type RoomEvent } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import type { AnyEndpoint, Resource } from "../../../src/http/endpoint.ts";
import { startListeners, type RunningListeners } from "../../../src/http/listeners.ts";
import type { Services } from "../../../src/homeserver/services.ts";
import { startHomeserver, type RunningHomeserver } from "../../../src/homeserver/server.ts";
import type { Engine } from "../../../src/storage/engine.ts";
import { createTestStorage, type TestStorage } from "../../storage/engines.ts";
import { freePort } from "./tls-homeserver.ts";
import { createTestPki, type TestPki } from "./pki.ts";

export interface FederatedServer {
  readonly serverName: string;
  readonly port: number;
  /** The running server's services (changes after a restart). */
  readonly services: Services;
  user(localpart: string): string;
  /** Registers a local user (invites of unknown users are refused). */
  register(localpart: string): Promise<string>;
  createRoom(creator: string, options?: { preset?: "public" | "private"; version?: string; alias?: string }): Promise<string>;
  send(roomId: string, sender: string, body: string): Promise<string>;
  state(roomId: string, sender: string, type: string, stateKey: string, content: JsonObject): Promise<string>;
  /** The room's current state as (type, state_key) -> event ID, or undefined when the room is unknown here. */
  currentState(roomId: string): Promise<Map<string, string> | undefined>;
  /** The content of the current state event at (type, state_key). */
  stateContent(roomId: string, type: string, stateKey: string): Promise<JsonObject | undefined>;
  /** The room's timeline here, oldest first. */
  timeline(roomId: string): Promise<RoomEvent[]>;
  /** The bodies of the m.room.message events stored here (timeline and backfilled), by depth. */
  storedMessages(roomId: string): Promise<string[]>;
  membership(roomId: string, userId: string): Promise<string | undefined>;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Two servers for a suite, A named "localhost:port" and B "127.0.0.1:port", with a fresh test CA:
 * started before its tests, destroyed after them. Read `a`, `b` and `pki` inside tests or hooks.
 */
export function twoServers(engine: Engine): { readonly a: FederatedServer; readonly b: FederatedServer; readonly pki: TestPki } {
  let pki: TestPki | undefined;
  let a: FederatedServer | undefined;
  let b: FederatedServer | undefined;
  before(async () => {
    pki = await createTestPki();
    a = await startFederatedServer(engine, pki, "localhost");
    b = await startFederatedServer(engine, pki, "127.0.0.1");
  });
  after(async () => {
    await a?.destroy();
    await b?.destroy();
    await pki?.cleanup();
  });
  const started = (server: FederatedServer | undefined): FederatedServer => {
    if (server === undefined) throw new Error("the servers start in the suite's before hook");
    return server;
  };
  return {
    get a() {
      return started(a);
    },
    get b() {
      return started(b);
    },
    get pki() {
      if (pki === undefined) throw new Error("the test CA is made in the suite's before hook");
      return pki;
    },
  };
}

/** Polls until `check` holds (no timing is asserted: the deadline only stops a hung test). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface FederatedServerOptions {
  /** Endpoints served beside Weft's own (a test's stand-in for what Weft is not, such as a policy server). */
  readonly extraEndpoints?: readonly AnyEndpoint[];
}

export async function startFederatedServer(
  engine: Engine,
  pki: TestPki,
  host: "localhost" | "127.0.0.1",
  options: FederatedServerOptions = {},
): Promise<FederatedServer> {
  const port = await freePort();
  const serverName = `${host}:${port}`;
  const certificate = pki.issue(["localhost"], ["127.0.0.1"]);
  const dataDir = await mkdtemp(join(tmpdir(), "weft-fedrooms-"));
  const storage: TestStorage = await createTestStorage(engine);
  const yaml = [
    `server_name: "${serverName}"`,
    "listeners:",
    "  - port: 1",
    "    type: http",
    "    resources: [{ names: [federation] }]",
    `tls_certificate_path: ${certificate.certPath}`,
    `tls_private_key_path: ${certificate.keyPath}`,
    `federation_custom_ca_list: [${pki.caPath}]`,
    "ip_range_whitelist: ['127.0.0.0/8']",
    "trusted_key_servers: []",
    "suppress_key_server_warning: true",
    "log_level: silent",
  ].join("\n");
  const { config: parsed } = parseConfigText(yaml, join(dataDir, "homeserver.yaml"));
  const config: HomeserverConfig = { ...parsed, listeners: [], database: storage.config as HomeserverConfig["database"] };

  let server: RunningHomeserver | undefined;
  let listeners: RunningListeners | undefined;

  const start = async (): Promise<void> => {
    server = await startHomeserver(config, pino({ level: process.env.WEFT_TEST_LOG ?? "silent" }));
    const served = server.services.http;
    const http = options.extraEndpoints === undefined ? served : { ...served, endpoints: [...served.endpoints, ...options.extraEndpoints] };
    listeners = await startListeners(http, [
      {
        port,
        bindAddresses: ["127.0.0.1"],
        resources: new Set<Resource>(["client", "federation", "keys", "health", "openid"]),
        xForwarded: false,
        tls: { cert: certificate.cert, key: certificate.key },
      },
    ]);
  };
  const stop = async (): Promise<void> => {
    await listeners?.close();
    await server?.close();
    listeners = undefined;
    server = undefined;
  };
  await start();

  const services = (): Services => {
    if (server === undefined) throw new Error(`${serverName} is stopped`);
    return server.services;
  };
  const user = (localpart: string): string => `@${localpart}:${serverName}`;
  const aliases = new Map<string, string>();
  const wireAliases = (): void => {
    services().federationRooms.useLocalAliases(async (alias) => {
      const roomId = aliases.get(alias);
      return roomId === undefined ? undefined : { roomId, servers: [serverName] };
    });
  };
  wireAliases();

  const self: FederatedServer = {
    serverName,
    port,
    get services() {
      return services();
    },
    user,
    async register(localpart) {
      await services().users.register({ localpart, password: undefined, inhibitLogin: true });
      return user(localpart);
    },
    async createRoom(creator, options = {}) {
      const rs = services().roomserver;
      const version = options.version ?? "10";
      const { roomId } = await rs.createRoom({ roomVersion: version, creator });
      const send = (type: string, stateKey: string, content: JsonObject) =>
        rs.createLocalEvent({ roomId, type, stateKey, sender: creator, content });
      await send("m.room.member", creator, { membership: "join" });
      await send("m.room.power_levels", "", { users: { [creator]: 100 }, users_default: 0, events_default: 0, state_default: 50, invite: 0 });
      await send("m.room.join_rules", "", { join_rule: options.preset === "private" ? "invite" : "public" });
      await send("m.room.history_visibility", "", { history_visibility: "shared" });
      if (options.alias !== undefined) aliases.set(options.alias, roomId);
      return roomId;
    },
    async send(roomId, sender, body) {
      const { eventId } = await services().roomserver.createLocalEvent({ roomId, type: "m.room.message", sender, content: { msgtype: "m.text", body } });
      return eventId;
    },
    async state(roomId, sender, type, stateKey, content) {
      const { eventId } = await services().roomserver.createLocalEvent({ roomId, type, stateKey, sender, content });
      return eventId;
    },
    async currentState(roomId) {
      return await services().roomserver.currentState(roomId);
    },
    async stateContent(roomId, type, stateKey) {
      const id = (await services().roomserver.currentState(roomId))?.get(stateMapKey(type, stateKey));
      if (id === undefined) return undefined;
      return (await services().roomserver.getEvent(id))?.event.content;
    },
    async timeline(roomId) {
      const rs = services().roomserver;
      const entries = await rs.store.roomStream(roomId, 0, 100_000);
      const out: RoomEvent[] = [];
      for (const entry of entries) {
        const info = await rs.getEvent(entry.eventId);
        if (info !== undefined) out.push(info.event);
      }
      return out;
    },
    async storedMessages(roomId) {
      const events = await services().roomserver.store.roomEvents(roomId);
      return events
        .filter((e) => e.pdu["type"] === "m.room.message" && !e.outlier && e.rejectedReason === null)
        .sort((x, y) => x.depth - y.depth)
        .map((e) => String((e.pdu["content"] as JsonObject)["body"]));
    },
    async membership(roomId, userId) {
      const content = await self.stateContent(roomId, "m.room.member", userId);
      const membership = content?.["membership"];
      return typeof membership === "string" ? membership : undefined;
    },
    stop,
    async start() {
      await start();
      wireAliases();
    },
    async destroy() {
      await stop();
      await storage.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
