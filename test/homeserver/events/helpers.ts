/**
 * Helpers for the room event tests: a homeserver with generous rate limits, rooms built through the
 * room engine (creator joined with power 100, public join rules, chosen history visibility), and
 * the client calls these tests make.
 */
import assert from "node:assert/strict";
import type { JsonObject } from "../../../src/core/json.ts";
import type { Engine } from "../../../src/storage/engine.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML, call, type Reply, type TestUser } from "../api/client/helpers.ts";

export { assertError, call, registerGuest, registerUser, login, type Reply, type TestUser } from "../api/client/helpers.ts";

export const EVENTS_YAML = [ACCOUNTS_YAML, "rc_message: {per_second: 10000, burst_count: 10000}"].join("\n");

export function startEventsHomeserver(engine: Engine, yaml = EVENTS_YAML): Promise<TestHomeserver> {
  return startTestHomeserver(engine, { yaml });
}

export const enc = encodeURIComponent;

export function roomPath(roomId: string, rest: string, version = "v3"): string {
  return `/_matrix/client/${version}/rooms/${enc(roomId)}${rest}`;
}

/** Lets the membership index apply what the room engine committed (visibility reads it). */
export async function settled(hs: TestHomeserver): Promise<void> {
  const index = hs.server.services.rooms.membershipIndex;
  await index.waitUntil(index.position);
  await hs.server.services.events.relationsIndexer.settled();
}

/** A room made through the room engine: creator joined (power 100), public, `history_visibility`. */
export async function createRoom(
  hs: TestHomeserver,
  creator: TestUser,
  options: { roomVersion?: string; historyVisibility?: string; powerLevels?: JsonObject } = {},
): Promise<string> {
  const rs = hs.server.services.roomserver;
  const { roomId } = await rs.createRoom({ roomVersion: options.roomVersion ?? "10", creator: creator.userId });
  const send = (type: string, content: JsonObject, stateKey = "") => rs.createLocalEvent({ roomId, type, stateKey, sender: creator.userId, content });
  await send("m.room.member", { membership: "join", displayname: `${creator.userId.slice(1, 6)} name` }, creator.userId);
  await send("m.room.power_levels", { users: { [creator.userId]: 100 }, ...(options.powerLevels ?? {}) });
  await send("m.room.join_rules", { join_rule: "public" });
  await send("m.room.history_visibility", { history_visibility: options.historyVisibility ?? "shared" });
  await settled(hs);
  return roomId;
}

/** The user's membership set through the room engine (join, leave; invite/ban by `sender`). */
export async function setMembership(hs: TestHomeserver, roomId: string, user: TestUser, membership: string, sender: TestUser = user): Promise<string> {
  const { eventId } = await hs.server.services.roomserver.createLocalEvent({
    roomId,
    type: "m.room.member",
    stateKey: user.userId,
    sender: sender.userId,
    content: { membership },
  });
  await settled(hs);
  return eventId;
}

let txnCounter = 0;

/** PUT /send with a fresh txnId; asserts 200 and returns the event ID. */
export async function send(hs: TestHomeserver, user: TestUser, roomId: string, content: JsonObject, type = "m.room.message"): Promise<string> {
  const reply = await call(hs, "PUT", roomPath(roomId, `/send/${enc(type)}/t${++txnCounter}`), { token: user.accessToken, body: content });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body["event_id"] as string;
}

export function text(body: string, extra: JsonObject = {}): JsonObject {
  return { msgtype: "m.text", body, ...extra };
}

/** The content's m.relates_to to `eventId` with `relType` (and any extra fields, such as a reaction's key). */
export function relatesTo(relType: string, eventId: string, extra: JsonObject = {}): JsonObject {
  return { "m.relates_to": { rel_type: relType, event_id: eventId, ...extra } };
}

/** An event's bundled aggregations (unsigned.m.relations). */
export function relationsOf(event: Record<string, unknown>): Record<string, Record<string, unknown>> | undefined {
  return (event["unsigned"] as Record<string, unknown> | undefined)?.["m.relations"] as Record<string, Record<string, unknown>> | undefined;
}

export async function get(hs: TestHomeserver, user: TestUser, path: string): Promise<Reply> {
  return await call(hs, "GET", path, { token: user.accessToken });
}

/** GET and assert 200. */
export async function getOk(hs: TestHomeserver, user: TestUser, path: string): Promise<Record<string, unknown>> {
  const reply = await get(hs, user, path);
  assert.equal(reply.status, 200, `${path}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

export function ids(events: unknown): string[] {
  return (events as Array<{ event_id: string }>).map((e) => e.event_id);
}

/**
 * A homeserver that can be stopped and started again on the same database and data folder (the
 * harness's own stop() deletes them): `restart()` starts a new process-like instance over them.
 */
export async function startRestartable(engine: Engine, yaml = EVENTS_YAML): Promise<{ current(): TestHomeserver; restart(): Promise<TestHomeserver>; stop(): Promise<void> }> {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const pino = (await import("pino")).default;
  const { parseConfigText } = await import("../../../src/config/index.ts");
  const { startHomeserver } = await import("../../../src/homeserver/server.ts");
  const { createTestStorage } = await import("../../storage/engines.ts");
  const dataDir = await mkdtemp(join(tmpdir(), "weft-events-"));
  const storage = await createTestStorage(engine);
  const text = [
    "server_name: test.local",
    "listeners:",
    "  - port: 1",
    "    bind_addresses: ['127.0.0.1']",
    "    type: http",
    "    resources: [{ names: [client] }]",
    "log_level: silent",
    yaml,
  ].join("\n");
  const { config: parsed } = parseConfigText(text, join(dataDir, "homeserver.yaml"));
  const config = { ...parsed, listeners: parsed.listeners.map((l) => ({ ...l, port: 0 })), database: storage.config as typeof parsed.database };
  const boot = async (): Promise<TestHomeserver> => {
    const server = await startHomeserver(config, pino({ level: "silent" }));
    return { baseUrl: `http://127.0.0.1:${server.addresses[0]?.port}`, server, config, dataDir, stop: () => server.close() };
  };
  let hs = await boot();
  return {
    current: () => hs,
    restart: async () => {
      await hs.server.close();
      hs = await boot();
      return hs;
    },
    stop: async () => {
      await hs.server.close();
      await storage.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
