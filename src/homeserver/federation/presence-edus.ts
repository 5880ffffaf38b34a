// Presence over federation (server-server-api#presence, m.presence.yaml): "based entirely on
// exchange of" m.presence EDUs. A local user's presence change goes to the servers sharing a room
// with them ("Servers should only send presence updates for users that the receiving server would
// be interested in"); pushes received update that server's users, if one of ours shares a room with
// them (a server cannot fill our memory with users nobody here can see).
//
// The EDU carries no expiry: a user's server sends it again every PRESENCE_REFRESH_MS while they
// are not offline, and the receiver turns them offline after REMOTE_PRESENCE_TIMEOUT_MS without
// news (presence.ts). The EduDispatcher (edus.ts) has already dropped the pushes of users of other
// servers than the origin. With presence disabled this is not connected: nothing sent or taken.
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import { systemClock, type Clock, type TimerHandle } from "../sync/clock.ts";
import { REMOTE_PRESENCE_TIMEOUT_MS, type Presence, type PresenceService, type RemotePresence } from "../sync/presence.ts";
import { MAX_STATUS_MSG_LENGTH } from "../sync/presence-status.ts";
import type { EduHandler } from "./edus.ts";
import type { Edu } from "./sender.ts";

/** How often the presence of local users not offline is sent again (within the receivers' timeout). */
export const PRESENCE_REFRESH_MS = REMOTE_PRESENCE_TIMEOUT_MS - 5 * 60_000;
/** Pushes per m.presence EDU: a transaction of 100 EDUs stays a reasonable size. */
export const MAX_PUSHES_PER_EDU = 100;

const PRESENCES: ReadonlySet<string> = new Set<Presence>(["online", "unavailable", "offline"]);

export interface PresenceEduDeps {
  readonly serverName: string;
  readonly presence: PresenceService;
  /** The rooms the user is joined to. */
  readonly roomsOfUser: (userId: string) => Promise<readonly string[]>;
  /** The servers with a joined member in the room (ours included). */
  readonly serversInRoom: (roomId: string) => Promise<readonly string[]>;
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
  #scheduled = false;
  #sending: Promise<void> = Promise.resolve();
  #refresh: TimerHandle | undefined;
  #closed = false;

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
      if (!(await this.#sharesRoomWithLocalUser(parsed.userId))) continue;
      this.#deps.presence.receiveRemote(parsed.userId, parsed.update);
    }
  };

  /** Settles once the changes seen so far are queued for sending (tests). */
  async settled(): Promise<void> {
    while (this.#scheduled) await new Promise((resolve) => setImmediate(resolve));
    await this.#sending;
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
    if (this.#scheduled || this.#pending.size === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const batch = this.#pending;
      this.#pending = new Set();
      this.#sending = this.#sending.then(() => this.#send(batch)).catch((err: unknown) => this.#deps.onError?.(err));
    });
  }

  async #send(userIds: ReadonlySet<string>): Promise<void> {
    const serversOfRoom = new Map<string, readonly string[]>();
    const byDestination = new Map<string, JsonObject[]>();
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
      for (const destination of destinations) {
        const list = byDestination.get(destination) ?? [];
        byDestination.set(destination, list);
        list.push(item);
      }
    }
    for (const [destination, items] of byDestination) {
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
