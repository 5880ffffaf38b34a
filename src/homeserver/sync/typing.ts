// Typing notifications (client-server-api/modules/typing_notifications.md, typing.yaml): who is
// typing in each room, for `timeout` milliseconds at most, kept in memory only ("the server does
// not remember users who are not currently typing"). Each change bumps the typing stream and
// becomes the room's serial; /sync sends a room's whole list (m.typing `user_ids`, which clients
// use to REPLACE what they know) when its serial is after the `since` token's typing position.
// Membership checks are the caller's: this only keeps the lists.
import type { JsonObject } from "../../core/json.ts";
import { ChangeLog } from "./change-log.ts";
import { systemClock, type Clock, type TimerHandle } from "./clock.ts";
import type { Notifier } from "./notifier.ts";

/** typing.yaml names no default; Synapse's, when `timeout` is absent. */
export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;
/** The server's cap on `timeout` (Synapse's), so a client cannot type forever. */
export const MAX_TYPING_TIMEOUT_MS = 120_000;

export interface TypingOptions {
  readonly notifier: Notifier;
  readonly clock?: Clock;
  readonly maxTimeoutMs?: number;
}

/** One user starting or stopping to type in a room (what federation sends as m.typing). */
export interface UserTypingChange {
  readonly roomId: string;
  readonly userId: string;
  readonly typing: boolean;
}

/** A room whose typing list changed, with the list as it is now. */
export interface TypingChange {
  readonly roomId: string;
  readonly userIds: readonly string[];
}

export class TypingService {
  readonly #notifier: Notifier;
  readonly #clock: Clock;
  readonly #maxTimeoutMs: number;
  readonly #log = new ChangeLog();
  // roomId -> userId -> the timer that ends their typing; insertion order is the list's order.
  readonly #typing = new Map<string, Map<string, TimerHandle>>();
  readonly #listeners = new Set<(change: UserTypingChange) => void>();

  constructor(options: TypingOptions) {
    this.#notifier = options.notifier;
    this.#clock = options.clock ?? systemClock;
    this.#maxTimeoutMs = options.maxTimeoutMs ?? MAX_TYPING_TIMEOUT_MS;
  }

  /**
   * PUT /rooms/{roomId}/typing/{userId}: the user is typing for the next `timeoutMs` (capped), or
   * has stopped. Renewing while already typing only moves the deadline: the list is unchanged, so
   * nothing is sent.
   */
  setTyping(roomId: string, userId: string, typing: boolean, timeoutMs: number = DEFAULT_TYPING_TIMEOUT_MS): void {
    const users = this.#typing.get(roomId);
    const timer = users?.get(userId);
    if (!typing) {
      if (timer !== undefined) this.#stop(roomId, userId);
      return;
    }
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    const ms = Math.min(Math.max(0, timeoutMs), this.#maxTimeoutMs);
    const expiry = this.#clock.setTimeout(() => this.#stop(roomId, userId), ms);
    if (users === undefined) this.#typing.set(roomId, new Map([[userId, expiry]]));
    else users.set(userId, expiry);
    if (timer === undefined) this.#changed(roomId, userId, true);
  }

  /** Whether the user is typing in the room now. */
  isTyping(roomId: string, userId: string): boolean {
    return this.#typing.get(roomId)?.has(userId) ?? false;
  }

  /**
   * Tells `listener` of every user who starts or stops typing (a timeout included), whoever's
   * user it is; renewals are not changes. Returns the unsubscribe.
   */
  onTypingChange(listener: (change: UserTypingChange) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** The users typing in the room now (m.typing `user_ids`). */
  typingUsers(roomId: string): string[] {
    return [...(this.#typing.get(roomId)?.keys() ?? [])];
  }

  /** The m.typing event for the room's `ephemeral` section of /sync. */
  typingEvent(roomId: string): JsonObject {
    return { type: "m.typing", content: { user_ids: this.typingUsers(roomId) } };
  }

  /** The typing stream's position: where a sync token taken now stands. */
  get position(): number {
    return this.#log.position;
  }

  /** The position of the room's last change (its serial); 0 if it never had one. */
  roomSerial(roomId: string): number {
    return this.#log.positionOf(roomId) ?? 0;
  }

  /** The rooms whose list changed after `since`, with their lists now, and the position read up to. */
  changesSince(since: number): { readonly position: number; readonly changes: TypingChange[] } {
    const changes = this.#log.changedSince(since).map((roomId) => ({ roomId, userIds: this.typingUsers(roomId) }));
    return { position: this.#log.position, changes };
  }

  /** Cancels every expiry timer (shutdown). */
  close(): void {
    for (const users of this.#typing.values()) for (const timer of users.values()) this.#clock.clearTimeout(timer);
    this.#typing.clear();
  }

  #stop(roomId: string, userId: string): void {
    const users = this.#typing.get(roomId);
    const timer = users?.get(userId);
    if (users === undefined || timer === undefined) return;
    this.#clock.clearTimeout(timer);
    users.delete(userId);
    if (users.size === 0) this.#typing.delete(roomId);
    this.#changed(roomId, userId, false);
  }

  #changed(roomId: string, userId: string, typing: boolean): void {
    const position = this.#log.bump(roomId);
    this.#notifier.notify("typing", position, { roomIds: [roomId] });
    for (const listener of this.#listeners) listener({ roomId, userId, typing });
  }
}
