// Which servers are in each room (those with a joined member in its current m.room.member state)
// and the room's server ACL: what sending and the checks on requests ask on every event, so it
// is kept in memory, loaded from the current state on first use and moved along with the
// roomserver's outputs (their stateDelta).
import { stateMapKey } from "../../core/events/room-event.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import type { RoomserverOutput } from "../roomserver/index.ts";
import type { RoomReader } from "./room-reader.ts";
import { isServerAllowed, serverAclOf, type ServerAcl } from "./server-acl.ts";

const MEMBER = "m.room.member";
const SERVER_ACL = "m.room.server_acl";
const ACL_KEY = stateMapKey(SERVER_ACL, "");

interface RoomEntry {
  /** user ID -> membership, for every m.room.member of the current state. */
  readonly members: Map<string, string>;
  /** server -> how many of its users are joined. */
  readonly joined: Map<string, number>;
  acl: ServerAcl | undefined;
}

interface Loading {
  promise: Promise<RoomEntry | undefined>;
  /** An output changed the room while it loaded: load again. */
  dirty: boolean;
}

function splitKey(key: string): { type: string; stateKey: string } {
  const at = key.indexOf("\u0000");
  return { type: key.slice(0, at), stateKey: key.slice(at + 1) };
}

function setMembership(entry: RoomEntry, userId: string, membership: string | undefined): void {
  const before = entry.members.get(userId);
  const server = serverNameOf(userId);
  if (before === "join" && server !== undefined) {
    const n = (entry.joined.get(server) ?? 1) - 1;
    if (n <= 0) entry.joined.delete(server);
    else entry.joined.set(server, n);
  }
  if (membership === undefined) entry.members.delete(userId);
  else entry.members.set(userId, membership);
  if (membership === "join" && server !== undefined) entry.joined.set(server, (entry.joined.get(server) ?? 0) + 1);
}

export class RoomServers {
  readonly #reader: RoomReader;
  readonly #rooms = new Map<string, RoomEntry>();
  readonly #loading = new Map<string, Loading>();

  constructor(reader: RoomReader) {
    this.#reader = reader;
  }

  /** The servers with a joined member in the room's current state; empty for an unknown room. */
  async serversInRoom(roomId: string): Promise<string[]> {
    const entry = await this.#entry(roomId);
    return entry === undefined ? [] : [...entry.joined.keys()];
  }

  async isServerInRoom(roomId: string, serverName: string): Promise<boolean> {
    const entry = await this.#entry(roomId);
    return entry !== undefined && entry.joined.has(serverName);
  }

  /** A user's membership in the current state, if they have one. */
  async membership(roomId: string, userId: string): Promise<string | undefined> {
    return (await this.#entry(roomId))?.members.get(userId);
  }

  /** The joined members of one server. */
  async joinedMembersOf(roomId: string, serverName: string): Promise<string[]> {
    const entry = await this.#entry(roomId);
    if (entry === undefined) return [];
    return [...entry.members].filter(([userId, m]) => m === "join" && serverNameOf(userId) === serverName).map(([userId]) => userId);
  }

  /** Whether the room's server ACL lets a server take part (server-server-api#server-access-control-lists-acls). */
  async isAllowed(roomId: string, serverName: string): Promise<boolean> {
    const entry = await this.#entry(roomId);
    return isServerAllowed(entry?.acl, serverName);
  }

  /**
   * Moves a loaded room along with an output. Resolves once applied: the sender asks who is in
   * the room after each event, so it waits for this first.
   */
  async apply(output: RoomserverOutput): Promise<void> {
    if (output.kind !== "new_room_event") return;
    const loading = this.#loading.get(output.roomId);
    if (loading !== undefined) {
      loading.dirty = true;
      return;
    }
    const entry = this.#rooms.get(output.roomId);
    if (entry === undefined) return;
    const fetch: Array<{ key: string; eventId: string }> = [];
    for (const [key, eventId] of output.stateDelta) {
      const { type, stateKey } = splitKey(key);
      if (type !== MEMBER && type !== SERVER_ACL) continue;
      if (eventId === null) {
        if (type === MEMBER) setMembership(entry, stateKey, undefined);
        else entry.acl = undefined;
      } else if (eventId === output.event.eventId) {
        this.#applyEvent(entry, type, stateKey, output.event.content);
      } else {
        fetch.push({ key, eventId });
      }
    }
    if (fetch.length === 0) return;
    // A state resolution brought other events into the current state.
    const events = await this.#reader.events(fetch.map((f) => f.eventId));
    for (const { key, eventId } of fetch) {
      const { type, stateKey } = splitKey(key);
      this.#applyEvent(entry, type, stateKey, events.get(eventId)?.event.content);
    }
  }

  /** Forgets a room (say, after leaving it): the next question loads it again. */
  forget(roomId: string): void {
    this.#rooms.delete(roomId);
  }

  #applyEvent(entry: RoomEntry, type: string, stateKey: string, content: unknown): void {
    if (type === MEMBER) {
      const membership = typeof content === "object" && content !== null ? (content as Record<string, unknown>)["membership"] : undefined;
      setMembership(entry, stateKey, typeof membership === "string" ? membership : "leave");
    } else {
      entry.acl = serverAclOf(content);
    }
  }

  async #entry(roomId: string): Promise<RoomEntry | undefined> {
    const entry = this.#rooms.get(roomId);
    if (entry !== undefined) return entry;
    const loading = this.#loading.get(roomId);
    if (loading !== undefined) return loading.promise;
    const started: Loading = { promise: Promise.resolve(undefined), dirty: false };
    started.promise = (async () => {
      try {
        let loaded: RoomEntry | undefined;
        do {
          started.dirty = false;
          loaded = await this.#load(roomId);
        } while (started.dirty);
        if (loaded !== undefined) this.#rooms.set(roomId, loaded);
        return loaded;
      } finally {
        this.#loading.delete(roomId);
      }
    })();
    this.#loading.set(roomId, started);
    return started.promise;
  }

  async #load(roomId: string): Promise<RoomEntry | undefined> {
    const current = await this.#reader.currentState(roomId);
    if (current === undefined) return undefined;
    const wanted: Array<{ type: string; stateKey: string; eventId: string }> = [];
    for (const [key, eventId] of current) {
      const { type, stateKey } = splitKey(key);
      if (type === MEMBER || key === ACL_KEY) wanted.push({ type, stateKey, eventId });
    }
    const events = await this.#reader.events(wanted.map((w) => w.eventId));
    const entry: RoomEntry = { members: new Map(), joined: new Map(), acl: undefined };
    for (const { type, stateKey, eventId } of wanted) this.#applyEvent(entry, type, stateKey, events.get(eventId)?.event.content);
    return entry;
  }
}
