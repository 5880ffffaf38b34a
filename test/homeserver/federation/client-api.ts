/**
 * A user of a federated test server (federated-server.ts) using its client API over TLS, the way a
 * client would: registered on the server, calling endpoints and long-polling /sync.
 */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { Agent, fetch } from "undici";
import type { Engine } from "../../../src/storage/engine.ts";
import { twoServers, waitFor, type FederatedServer } from "./federated-server.ts";

export type Json = Record<string, unknown>;

export interface Client {
  readonly userId: string;
  /** Any answer, with its status. */
  request(method: string, path: string, body?: Json): Promise<{ status: number; json: Json }>;
  /** An answer that must be 200. */
  call(method: string, path: string, body?: Json): Promise<Json>;
  /** Long-polls /sync from the last token until `found` holds on a response; returns that response. */
  syncUntil(what: string, found: (response: Json) => boolean): Promise<Json>;
}

/** Registers `localpart` on `server`; `agent` trusts the servers' test CA. */
export async function clientOf(server: FederatedServer, localpart: string, agent: Agent): Promise<Client> {
  const registered = await server.services.users.register({ localpart, password: undefined });
  const token = registered.accessToken;
  assert.ok(token !== undefined);
  const request = async (method: string, path: string, body?: Json): Promise<{ status: number; json: Json }> => {
    const response = await fetch(`https://127.0.0.1:${server.port}${path}`, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Json };
  };
  const call = async (method: string, path: string, body?: Json): Promise<Json> => {
    const { status, json } = await request(method, path, body);
    assert.equal(status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
    return json;
  };
  let since: string | undefined;
  return {
    userId: registered.userId,
    request,
    call,
    async syncUntil(what, found) {
      let seen: Json | undefined;
      await waitFor(what, async () => {
        const query = since === undefined ? "" : `?timeout=10000&since=${encodeURIComponent(since)}`;
        const response = await call("GET", `/_matrix/client/v3/sync${query}`);
        since = response["next_batch"] as string;
        if (!found(response)) return false;
        seen = response;
        return true;
      });
      assert.ok(seen !== undefined);
      return seen;
    },
  };
}

/**
 * Two servers for a suite (twoServers) with a client on each, alice on A and bob on B, both synced
 * once so that their later syncs are incremental: set up before the suite's tests, closed after.
 * Read the fields inside tests or hooks; `agent` trusts the test CA, for more clients.
 */
export function twoClients(engine: Engine): {
  readonly a: FederatedServer;
  readonly b: FederatedServer;
  readonly agent: Agent;
  readonly alice: Client;
  readonly bob: Client;
} {
  const servers = twoServers(engine);
  let clients: { agent: Agent; alice: Client; bob: Client } | undefined;
  before(async () => {
    const agent = new Agent({ connect: { ca: servers.pki.caCert } });
    const alice = await clientOf(servers.a, "alice", agent);
    const bob = await clientOf(servers.b, "bob", agent);
    await alice.syncUntil("alice's first sync", () => true);
    await bob.syncUntil("bob's first sync", () => true);
    clients = { agent, alice, bob };
  });
  after(async () => {
    await clients?.agent.close();
  });
  const ready = (): { agent: Agent; alice: Client; bob: Client } => {
    if (clients === undefined) throw new Error("the clients are made in the suite's before hook");
    return clients;
  };
  return {
    get a() {
      return servers.a;
    },
    get b() {
      return servers.b;
    },
    get agent() {
      return ready().agent;
    },
    get alice() {
      return ready().alice;
    },
    get bob() {
      return ready().bob;
    },
  };
}

/**
 * `client` leaves a room where it was invited or had knocked (`was`): the leave shows in rooms.leave
 * with the client's own leave event, and the room is gone from `was`, also from an initial sync,
 * which shows it only with include_leave. Returns the sync response with the leave.
 */
export async function leaveShown(client: Client, roomId: string, was: "invite" | "knock"): Promise<Json> {
  await client.call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, {});
  const left = await client.syncUntil(`the leave of ${roomId} in rooms.leave`, (r) => section(r, "leave", roomId) !== undefined);
  assert.deepEqual(memberEventIn(left, "leave", roomId, client.userId)?.["content"], { membership: "leave" });
  assert.equal(section(left, was, roomId), undefined);
  const initial = await client.call("GET", "/_matrix/client/v3/sync");
  assert.equal(section(initial, was, roomId), undefined);
  assert.equal(section(initial, "leave", roomId), undefined);
  const withLeave = await client.call("GET", `/_matrix/client/v3/sync?filter=${encodeURIComponent(JSON.stringify({ room: { include_leave: true } }))}`);
  assert.ok(section(withLeave, "leave", roomId) !== undefined);
  return left;
}

/** The user's m.room.member event in the timeline of a room's entry in one section of a /sync response. */
export function memberEventIn(response: Json, name: "join" | "invite" | "knock" | "leave", roomId: string, userId: string): Json | undefined {
  return timelineOf(section(response, name, roomId)).find((e) => e["type"] === "m.room.member" && e["state_key"] === userId);
}

/** A room's entry in one section of a /sync response. */
export function section(response: Json, name: "join" | "invite" | "knock" | "leave", roomId: string): Json | undefined {
  return ((response["rooms"] as Json | undefined)?.[name] as Json | undefined)?.[roomId] as Json | undefined;
}

export function timelineOf(room: Json | undefined): Json[] {
  return ((room?.["timeline"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

/** The stripped state event of this type and state key. */
export function findStripped(events: Json[], type: string, stateKey = ""): Json | undefined {
  return events.find((e) => e["type"] === type && e["state_key"] === stateKey);
}
