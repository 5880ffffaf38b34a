// Presence over federation (server-server-api#presence, m.presence.yaml): "based entirely on
// exchange of" m.presence EDUs. A local user's presence change goes to the servers sharing a room
// with them ("Servers should only send presence updates for users that the receiving server would
// be interested in"); pushes received update that server's users, if one of ours shares a room with
// them (a server cannot fill our memory with users nobody here can see).
//
// A server that comes to share a room with our users hears of their presence then, as it would
// otherwise only at their next change: when a user of another server joins a room, that server
// gets the presence of our members there; when one of ours joins, the room's servers get theirs.
// That presence may arrive before this server has the room it is about (the resident sends it as
// soon as our join reaches it): pushes for users sharing no room with ours are held a little, a
// bounded few, and taken when one of our users joins a room they are in.
//
// The EDU carries no expiry: a user's server sends it again every PRESENCE_REFRESH_MS while they
// are not offline, and the receiver turns them offline after REMOTE_PRESENCE_TIMEOUT_MS without
// news (presence.ts). The EduDispatcher (edus.ts) has already dropped the pushes of users of other
// servers than the origin. With presence disabled this is not connected: nothing sent or taken.
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import { rememberRecent } from "../../core/recent-map.ts";
import { systemClock, type Clock, type TimerHandle } from "../sync/clock.ts";
import { REMOTE_PRESENCE_TIMEOUT_MS, type Presence, type PresenceService, type RemotePresence } from "../sync/presence.ts";
import { MAX_STATUS_MSG_LENGTH } from "../sync/presence-status.ts";
import type { EduHandler } from "./edus.ts";
import type { Edu } from "./sender.ts";

/** How often the presence of local users not offline is sent again (within the receivers' timeout). */
export const PRESENCE_REFRESH_MS = REMOTE_PRESENCE_TIMEOUT_MS - 5 * 60_000;
/** Pushes per m.presence EDU: a transaction of 100 EDUs stays a reasonable size. */
export const MAX_PUSHES_PER_EDU = 100;
/** Pushes for users sharing no room with ours: how many are held, and for how long. */
export const MAX_HELD_PUSHES = 1000;
export const HELD_PUSH_TTL_MS = 2 * 60_000;

const PRESENCES: ReadonlySet<string> = new Set<Presence>(["online", "unavailable", "offline"]);

export interface PresenceEduDeps {
  readonly serverName: string;
  readonly presence: PresenceService;
  /** The rooms the user is joined to. */
  readonly roomsOfUser: (userId: string) => Promise<readonly string[]>;
  /** The servers with a joined member in the room (ours included). */
  readonly serversInRoom: (roomId: string) => Promise<readonly string[]>;
  /** The users joined to the room. */
  readonly joinedMembers: (roomId: string) => Promise<readonly string[]>;
  readonly enqueueEdu: (destination: string, edu: Edu) => void;
  readonly clock?: Clock;
  readonly onError?: (err: unknown) => void;
}

export class PresenceEdus {
  readonly #deps: PresenceEduDeps;
  readonly #clock: Clock;
  readonly #unsubscribe: () => void;
  /** Local users whose presence changed in this turn of the event loop, sent together. */
  #pending = new Set<string>();
  /** Local users' presence for one server only (it has just come to share a room with them). */
  #targeted = new Map<string, Set<string>>();
  #scheduled = false;
  #sending: Promise<void> = Promise.resolve();
  #refresh: TimerHandle | undefined;
  #closed = false;
  /** user ID -> a push for them that came before we shared a room with them, oldest first. */
  readonly #held = new Map<string, { readonly update: RemotePresence; readonly at: number }>();

  constructor(deps: PresenceEduDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#unsubscribe = deps.presence.onLocalChange((userId) => this.#changed([userId]));
    this.#scheduleRefresh();
  }

  /** The m.presence EDU handler. */
  readonly handler: EduHandler = async (origin, content) => {
    const push = content["push"];
    if (!Array.isArray(push) || origin === this.#deps.serverName) return;
    for (const item of push) {
      const parsed = parsePush(item);
      if (parsed === undefined || serverNameOf(parsed.userId) !== origin) continue;
      if (!(await this.#sharesRoomWithLocalUser(parsed.userId))) {
        this.#hold(parsed.userId, parsed.update);
        continue;
      }
      this.#held.delete(parsed.userId);
      this.#deps.presence.receiveRemote(parsed.userId, parsed.update);
    }
  };

  /** A user's join of the room became its current state: see the header. */
  memberJoined(roomId: string, userId: string): void {
    const server = serverNameOf(userId);
    if (server === undefined || this.#closed) return;
    if (server === this.#deps.serverName) {
      if (this.#deps.presence.getPresence(userId).presence !== "offline") this.#changed([userId]);
      if (this.#held.size > 0) {
        this.#sending = this.#sending.then(() => this.#placeHeld(roomId)).catch((err: unknown) => this.#deps.onError?.(err));
      }
      return;
    }
    this.#sending = this.#sending
      .then(async () => {
        const ours = (await this.#deps.joinedMembers(roomId)).filter(
          (member) => serverNameOf(member) === this.#deps.serverName && this.#deps.presence.getPresence(member).presence !== "offline",
        );
        if (ours.length === 0) return;
        const set = this.#targeted.get(server) ?? new Set<string>();
        this.#targeted.set(server, set);
        for (const member of ours) set.add(member);
        this.#changed([]);
      })
      .catch((err: unknown) => this.#deps.onError?.(err));
  }

  /** Settles once the changes seen so far are queued for sending (tests). */
  async settled(): Promise<void> {
    for (;;) {
      while (this.#scheduled) await new Promise((resolve) => setImmediate(resolve));
      const sending = this.#sending;
      await sending;
      // What was awaited may have scheduled more (a join's lookup, then its send).
      if (!this.#scheduled && sending === this.#sending) return;
    }
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#refresh !== undefined) this.#clock.clearTimeout(this.#refresh);
    this.#refresh = undefined;
  }

  #scheduleRefresh(): void {
    if (this.#closed) return;
    this.#refresh = this.#clock.setTimeout(() => {
      this.#changed(this.#deps.presence.localUsersOnline());
      this.#scheduleRefresh();
    }, PRESENCE_REFRESH_MS);
  }

  #changed(userIds: Iterable<string>): void {
    for (const userId of userIds) if (serverNameOf(userId) === this.#deps.serverName) this.#pending.add(userId);
    if (this.#scheduled || (this.#pending.size === 0 && this.#targeted.size === 0)) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const batch = this.#pending;
      const targeted = this.#targeted;
      this.#pending = new Set();
      this.#targeted = new Map();
      this.#sending = this.#sending.then(() => this.#send(batch, targeted)).catch((err: unknown) => this.#deps.onError?.(err));
    });
  }

  async #send(userIds: ReadonlySet<string>, targeted: ReadonlyMap<string, ReadonlySet<string>>): Promise<void> {
    const serversOfRoom = new Map<string, readonly string[]>();
    const byDestination = new Map<string, Map<string, JsonObject>>();
    const add = (destination: string, userId: string, item: JsonObject): void => {
      const items = byDestination.get(destination) ?? new Map<string, JsonObject>();
      byDestination.set(destination, items);
      items.set(userId, item);
    };
    for (const [destination, users] of targeted) {
      if (destination !== this.#deps.serverName) for (const userId of users) add(destination, userId, this.#pushOf(userId));
    }
    for (const userId of userIds) {
      const destinations = new Set<string>();
      for (const roomId of await this.#deps.roomsOfUser(userId)) {
        let servers = serversOfRoom.get(roomId);
        if (servers === undefined) serversOfRoom.set(roomId, (servers = await this.#deps.serversInRoom(roomId)));
        for (const server of servers) destinations.add(server);
      }
      destinations.delete(this.#deps.serverName);
      if (destinations.size === 0) continue;
      // Read when sent: a later change in the same turn is what goes.
      const item = this.#pushOf(userId);
      for (const destination of destinations) add(destination, userId, item);
    }
    for (const [destination, byUser] of byDestination) {
      const items = [...byUser.values()];
      for (let i = 0; i < items.length; i += MAX_PUSHES_PER_EDU) {
        this.#deps.enqueueEdu(destination, { edu_type: "m.presence", content: { push: items.slice(i, i + MAX_PUSHES_PER_EDU) } });
      }
    }
  }

  // m.presence.yaml "User Presence Update": last_active_ago is required, so a user never active
  // is sent as active at the epoch.
  #pushOf(userId: string): JsonObject {
    const record = this.#deps.presence.record(userId);
    const content = this.#deps.presence.getPresence(userId);
    const item: JsonObject = {
      user_id: userId,
      presence: content.presence,
      last_active_ago: Math.max(0, this.#clock.now() - (record?.lastActiveTs ?? 0)),
      currently_active: content.currently_active ?? false,
    };
    if (content.status_msg !== undefined) item["status_msg"] = content.status_msg;
    return item;
  }

  #hold(userId: string, update: RemotePresence): void {
    rememberRecent(this.#held, userId, { update, at: this.#clock.now() }, MAX_HELD_PUSHES);
  }

  // One of our users joined the room: the pushes held for its members are theirs to take now.
  async #placeHeld(roomId: string): Promise<void> {
    const now = this.#clock.now();
    for (const [userId, held] of this.#held) if (now - held.at > HELD_PUSH_TTL_MS) this.#held.delete(userId);
    if (this.#held.size === 0) return;
    for (const member of await this.#deps.joinedMembers(roomId)) {
      const held = this.#held.get(member);
      if (held === undefined) continue;
      this.#held.delete(member);
      const ago = held.update.lastActiveAgo;
      this.#deps.presence.receiveRemote(member, { ...held.update, lastActiveAgo: ago === undefined ? undefined : ago + (now - held.at) });
    }
  }

  async #sharesRoomWithLocalUser(userId: string): Promise<boolean> {
    for (const roomId of await this.#deps.roomsOfUser(userId)) {
      if ((await this.#deps.serversInRoom(roomId)).includes(this.#deps.serverName)) return true;
    }
    return false;
  }
}

function parsePush(item: unknown): { userId: string; update: RemotePresence } | undefined {
  if (!isJsonObject(item)) return undefined;
  const { user_id: userId, presence, status_msg: statusMsg, last_active_ago: ago, currently_active: active } = item;
  if (typeof userId !== "string" || typeof presence !== "string" || !PRESENCES.has(presence)) return undefined;
  if (statusMsg !== undefined && statusMsg !== null && (typeof statusMsg !== "string" || statusMsg.length > MAX_STATUS_MSG_LENGTH)) return undefined;
  if (ago !== undefined && (typeof ago !== "number" || !Number.isSafeInteger(ago) || ago < 0)) return undefined;
  if (active !== undefined && typeof active !== "boolean") return undefined;
  return {
    userId,
    update: {
      presence: presence as Presence,
      statusMsg: typeof statusMsg === "string" ? statusMsg : null,
      lastActiveAgo: ago,
      currentlyActive: active ?? false,
    },
  };
}
