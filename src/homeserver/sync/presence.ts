// Presence (client-server-api/modules/presence.md, presence.yaml, m.presence): each local user is
// online, unavailable or offline, with a status message and the time of their last pro-active
// event. The rules, with Synapse's timings where the spec gives only examples:
//  - "Idle timeout": online, and no pro-active event for IDLE_TIMEOUT_MS (5 minutes) -> unavailable.
//  - Activity ("sending a message to a room or changing presence state to online") bumps the last
//    active time, and an unavailable user becomes online. An offline user stays offline: they
//    may be "explicitly suppressing their profile information".
//  - /sync's `set_presence`: omitted or "online" marks an offline user online, "unavailable"
//    marks the user idle, "offline" leaves presence alone. A user with no sync in flight for
//    SYNC_ONLINE_TIMEOUT_MS is no longer "connected to an event stream" -> offline.
//  - "Last active ago": `currently_active` is true while online and active within the last
//    LAST_ACTIVE_GRANULARITY_MS; while it stays true, fresh activity is not sent again.
// Other servers' users (server-server-api#presence) hold the presence their server last sent,
// until REMOTE_PRESENCE_TIMEOUT_MS without news turns them offline (their server may be gone).
// State lives in memory (the authoritative copy while running); a persistence hook sees every
// change and the records can be handed back at start. With presence disabled (`presence.enabled:
// false`) nothing changes, everyone reads as offline and the stream stays at 0, as Synapse does.
import { ChangeLog } from "./change-log.ts";
import { systemClock, type Clock, type TimerHandle } from "./clock.ts";
import type { Concerns, Notifier } from "./notifier.ts";

/** m.presence `presence`. */
export type Presence = "online" | "unavailable" | "offline";

export const IDLE_TIMEOUT_MS = 5 * 60_000;
export const SYNC_ONLINE_TIMEOUT_MS = 30_000;
export const LAST_ACTIVE_GRANULARITY_MS = 60_000;
/** Synapse's timing: servers send their online users' presence again well within this; no news for this long reads as offline. */
export const REMOTE_PRESENCE_TIMEOUT_MS = 30 * 60_000;

/** What is kept per user. */
export interface PresenceRecord {
  readonly userId: string;
  readonly presence: Presence;
  readonly statusMsg: string | null;
  /** When the last pro-active event happened (ms since the epoch); 0 if never. */
  readonly lastActiveTs: number;
  /** When a sync of the user's last ended or began; 0 if never. Another server's user: when it last sent their presence. */
  readonly lastSyncTs: number;
  readonly currentlyActive: boolean;
  /** The presence stream position of the last change that was sent. */
  readonly streamPosition: number;
}

/** m.presence `content`, and GET /presence/{userId}/status's answer. */
export interface PresenceContent {
  readonly presence: Presence;
  readonly last_active_ago?: number;
  readonly status_msg?: string;
  readonly currently_active?: boolean;
}

/** Where records go to survive a restart (a store, later); may batch or drop superseded writes. */
export interface PresencePersistence {
  save(record: PresenceRecord): void;
}

export interface PresenceOptions {
  /** `presence.enabled` of the config. */
  readonly enabled: boolean;
  readonly notifier: Notifier;
  readonly clock?: Clock;
  readonly persistence?: PresencePersistence;
  /** Records saved by an earlier run. */
  readonly initial?: Iterable<PresenceRecord>;
  /**
   * Who a user's presence concerns: the rooms they are in (their members see it) and themselves.
   * Defaults to the user alone until room membership is wired in.
   */
  readonly audience?: (userId: string) => Concerns | Promise<Concerns>;
  readonly idleTimeoutMs?: number;
  readonly syncOnlineTimeoutMs?: number;
  /** Whether a user is this server's (default: everyone is); others' presence is their server's to say. */
  readonly isLocal?: (userId: string) => boolean;
}

/** Another server's word on one of its users (m.presence EDU `push`). */
export interface RemotePresence {
  readonly presence: Presence;
  readonly statusMsg: string | null;
  /** Undefined when not given. */
  readonly lastActiveAgo: number | undefined;
  readonly currentlyActive: boolean;
}

interface UserState {
  record: PresenceRecord;
  syncs: number;
  timer: TimerHandle | undefined;
  /** When `timer` fires. */
  timerDue: number;
}

function offlineRecord(userId: string): PresenceRecord {
  return { userId, presence: "offline", statusMsg: null, lastActiveTs: 0, lastSyncTs: 0, currentlyActive: false, streamPosition: 0 };
}

export class PresenceService {
  readonly enabled: boolean;
  readonly #notifier: Notifier;
  readonly #clock: Clock;
  readonly #persistence: PresencePersistence | undefined;
  readonly #audience: (userId: string) => Concerns | Promise<Concerns>;
  readonly #idleTimeoutMs: number;
  readonly #syncOnlineTimeoutMs: number;
  readonly #users = new Map<string, UserState>();
  readonly #log: ChangeLog;
  readonly #isLocal: (userId: string) => boolean;
  readonly #listeners = new Set<(userId: string) => void>();
  readonly #changeListeners = new Set<(userId: string) => void>();

  constructor(options: PresenceOptions) {
    this.enabled = options.enabled;
    this.#notifier = options.notifier;
    this.#clock = options.clock ?? systemClock;
    this.#persistence = options.persistence;
    this.#audience = options.audience ?? ((userId) => ({ userIds: [userId] }));
    this.#idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.#syncOnlineTimeoutMs = options.syncOnlineTimeoutMs ?? SYNC_ONLINE_TIMEOUT_MS;
    this.#isLocal = options.isLocal ?? (() => true);
    const initial = this.enabled ? [...(options.initial ?? [])].sort((a, b) => a.streamPosition - b.streamPosition) : [];
    this.#log = new ChangeLog(initial.reduce((max, r) => Math.max(max, r.streamPosition), 0));
    for (const record of initial) {
      this.#users.set(record.userId, { record, syncs: 0, timer: undefined, timerDue: 0 });
      this.#reschedule(record.userId); // a user online at shutdown times out like one whose syncs stopped
    }
  }

  /**
   * PUT /presence/{userId}/status. `statusMsg` replaces the message (null clears it); undefined
   * keeps it. Setting "online" counts as activity.
   */
  setPresence(userId: string, presence: Presence, statusMsg?: string | null): void {
    if (!this.enabled) return; // Synapse answers 200 and ignores it
    const now = this.#clock.now();
    this.#update(userId, (r) => ({
      ...r,
      presence,
      statusMsg: statusMsg === undefined ? r.statusMsg : statusMsg,
      lastActiveTs: presence === "online" ? now : r.lastActiveTs,
      lastSyncTs: now, // a sign of life: not offline before the sync timeout
    }));
  }

  /** A pro-active event from the user (a message sent, typing, a read receipt...). */
  userActive(userId: string): void {
    if (!this.enabled) return;
    const now = this.#clock.now();
    this.#update(userId, (r) => ({ ...r, presence: r.presence === "unavailable" ? "online" : r.presence, lastActiveTs: now }));
  }

  /**
   * A /sync request of the user begins, with its `set_presence` (absent means "online"). Returns
   * the function to call when it ends; until then the user does not time out to offline.
   */
  syncStarted(userId: string, setPresence: Presence = "online"): () => void {
    if (!this.enabled || setPresence === "offline") return () => {};
    const now = this.#clock.now();
    this.#state(userId).syncs++;
    this.#update(userId, (r) => {
      if (setPresence === "unavailable") return { ...r, presence: "unavailable", lastSyncTs: now };
      if (r.presence === "offline") return { ...r, presence: "online", lastActiveTs: now, lastSyncTs: now };
      return { ...r, lastSyncTs: now };
    });
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#state(userId).syncs--;
      const at = this.#clock.now();
      this.#update(userId, (r) => ({ ...r, lastSyncTs: at }));
    };
  }

  /**
   * The presence of another server's user, as their server sent it (server-server-api#presence):
   * replaces what was known; heard from, the user stays so until REMOTE_PRESENCE_TIMEOUT_MS passes.
   */
  receiveRemote(userId: string, update: RemotePresence): void {
    if (!this.enabled || this.#isLocal(userId)) return;
    const now = this.#clock.now();
    this.#update(userId, (r) => ({
      ...r,
      presence: update.presence,
      statusMsg: update.statusMsg,
      lastActiveTs: update.lastActiveAgo === undefined ? r.lastActiveTs : Math.max(0, now - update.lastActiveAgo),
      lastSyncTs: now,
      currentlyActive: update.presence === "online" && update.currentlyActive,
    }));
  }

  /**
   * Tells `listener` of every change of a local user's presence that clients are told of (what
   * other servers are to hear). Returns the unsubscribe.
   */
  onLocalChange(listener: (userId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Tells `listener` of every change clients are told of, of this server's users and others'. Returns the unsubscribe. */
  onChange(listener: (userId: string) => void): () => void {
    this.#changeListeners.add(listener);
    return () => void this.#changeListeners.delete(listener);
  }

  /** The local users whose presence is not offline now. */
  localUsersOnline(): string[] {
    const out: string[] = [];
    for (const [userId, state] of this.#users) if (state.record.presence !== "offline" && this.#isLocal(userId)) out.push(userId);
    return out;
  }

  /** The user's presence as the client sees it now (GET /presence/{userId}/status). */
  getPresence(userId: string): PresenceContent {
    if (!this.enabled) return { presence: "offline" };
    const r = this.#users.get(userId)?.record ?? offlineRecord(userId);
    const content: { -readonly [K in keyof PresenceContent]: PresenceContent[K] } = { presence: r.presence };
    // "The last active time must be up to date whenever the server gives a presence event."
    if (r.lastActiveTs > 0) content.last_active_ago = Math.max(0, this.#clock.now() - r.lastActiveTs);
    if (r.statusMsg !== null) content.status_msg = r.statusMsg;
    if (r.presence === "online") content.currently_active = r.currentlyActive;
    return content;
  }

  /** The m.presence event for the `presence` section of /sync. */
  presenceEvent(userId: string): { type: "m.presence"; sender: string; content: PresenceContent } {
    return { type: "m.presence", sender: userId, content: this.getPresence(userId) };
  }

  /** The record kept for the user, if any. */
  record(userId: string): PresenceRecord | undefined {
    return this.#users.get(userId)?.record;
  }

  /** The presence stream's position. */
  get position(): number {
    return this.#log.position;
  }

  /** The users whose presence changed after `since`, as seen now, and the position read up to. */
  changesSince(since: number): { readonly position: number; readonly changes: { userId: string; content: PresenceContent }[] } {
    const changes = this.#log.changedSince(since).map((userId) => ({ userId, content: this.getPresence(userId) }));
    return { position: this.#log.position, changes };
  }

  /** Cancels every timer (shutdown). */
  close(): void {
    for (const state of this.#users.values()) {
      if (state.timer !== undefined) this.#clock.clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  #state(userId: string): UserState {
    let state = this.#users.get(userId);
    if (state === undefined) this.#users.set(userId, (state = { record: offlineRecord(userId), syncs: 0, timer: undefined, timerDue: 0 }));
    return state;
  }

  // Applies a change, then the timeouts that are due, decides whether clients must hear of it,
  // and sets the timer for the next timeout.
  #update(userId: string, change: (r: PresenceRecord) => PresenceRecord): void {
    const state = this.#state(userId);
    const before = state.record;
    let after = this.#applyTimeouts(change(before), state.syncs);
    // A new last active time alone is not sent: while online it comes with currently_active
    // turning true, and otherwise readers compute last_active_ago when they read.
    const visible =
      after.presence !== before.presence ||
      after.statusMsg !== before.statusMsg ||
      after.currentlyActive !== before.currentlyActive;
    if (visible) after = { ...after, streamPosition: this.#log.bump(userId) };
    state.record = after;
    if (after !== before) this.#persistence?.save(after);
    if (visible) this.#notify(userId, after.streamPosition);
    this.#reschedule(userId);
    if (visible && this.#isLocal(userId)) for (const listener of this.#listeners) listener(userId);
    if (visible) for (const listener of this.#changeListeners) listener(userId);
  }

  #applyTimeouts(r: PresenceRecord, syncs: number): PresenceRecord {
    const now = this.#clock.now();
    if (!this.#isLocal(r.userId)) {
      if (r.presence === "offline" || now - r.lastSyncTs < REMOTE_PRESENCE_TIMEOUT_MS) return r;
      return { ...r, presence: "offline", currentlyActive: false };
    }
    let presence = r.presence;
    if (presence === "online" && now - r.lastActiveTs >= this.#idleTimeoutMs) presence = "unavailable";
    if (presence !== "offline" && syncs === 0 && now - r.lastSyncTs >= this.#syncOnlineTimeoutMs) presence = "offline";
    const currentlyActive = presence === "online" && now - r.lastActiveTs < LAST_ACTIVE_GRANULARITY_MS;
    if (presence === r.presence && currentlyActive === r.currentlyActive) return r;
    return { ...r, presence, currentlyActive };
  }

  // The next moment a timeout can change the user's record, or undefined if none can.
  #nextDeadline(state: UserState): number | undefined {
    const r = state.record;
    if (!this.#isLocal(r.userId)) return r.presence === "offline" ? undefined : r.lastSyncTs + REMOTE_PRESENCE_TIMEOUT_MS;
    const deadlines: number[] = [];
    if (r.presence === "online") deadlines.push(r.lastActiveTs + this.#idleTimeoutMs);
    if (r.currentlyActive) deadlines.push(r.lastActiveTs + LAST_ACTIVE_GRANULARITY_MS);
    if (r.presence !== "offline" && state.syncs === 0) deadlines.push(r.lastSyncTs + this.#syncOnlineTimeoutMs);
    return deadlines.length === 0 ? undefined : Math.min(...deadlines);
  }

  #reschedule(userId: string): void {
    const state = this.#state(userId);
    const due = this.#nextDeadline(state);
    // A timer due no later is kept: firing early, it finds nothing due and sets the next one. Every
    // sync and message moves the deadlines later, so this spares a timer reset on each of them.
    if (state.timer !== undefined && due !== undefined && state.timerDue <= due) return;
    if (state.timer !== undefined) this.#clock.clearTimeout(state.timer);
    state.timer = undefined;
    if (due === undefined) return;
    state.timerDue = due;
    state.timer = this.#clock.setTimeout(() => {
      state.timer = undefined;
      this.#update(userId, (r) => r);
    }, Math.max(0, due - this.#clock.now()));
  }

  #notify(userId: string, position: number): void {
    const fallback: Concerns = { userIds: [userId] };
    let concerns: Concerns | Promise<Concerns>;
    try {
      concerns = this.#audience(userId);
    } catch {
      concerns = fallback;
    }
    if (concerns instanceof Promise) {
      // Positions may reach the notifier late and out of order: it only ever raises what it knows.
      concerns.then(
        (c) => this.#notifier.notify("presence", position, c),
        () => this.#notifier.notify("presence", position, fallback),
      );
    } else {
      this.#notifier.notify("presence", position, concerns);
    }
  }
}
