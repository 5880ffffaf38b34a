// Typing notifications over federation (server-server-api#typing-notifications): a local user's
// typing going on or off is sent as m.typing to every other server with a member joined to the
// room; m.typing received puts another server's user in the room's typing list.
//
// The EDU carries no timeout, so each side keeps one of its own, as servers do: a remote user
// stops typing REMOTE_TYPING_TIMEOUT_MS after their server last said they were, and while a local
// user keeps typing, their "typing: true" is sent again every TYPING_REFRESH_MS, well before that.
// The EduDispatcher (edus.ts) has already dropped EDUs of rooms the ACL denies the origin, of users
// of other servers than the origin, and of users not joined to the room ("Receiving servers should
// verify that the user is in the room, and is a user belonging to the sending server").
import { serverNameOf } from "../../core/identifiers/index.ts";
import { systemClock, type Clock, type TimerHandle } from "../sync/clock.ts";
import type { TypingService, UserTypingChange } from "../sync/typing.ts";
import type { EduHandler } from "./edus.ts";
import type { Edu } from "./sender.ts";

/** How long another server's user types after their server last said so. */
export const REMOTE_TYPING_TIMEOUT_MS = 30_000;
/** How often a local user still typing is said to be so again. */
export const TYPING_REFRESH_MS = 20_000;

export interface TypingEduDeps {
  readonly serverName: string;
  readonly typing: TypingService;
  /** The servers with a joined member in the room (ours included). */
  readonly serversInRoom: (roomId: string) => Promise<readonly string[]>;
  readonly enqueueEdu: (destination: string, edu: Edu) => void;
  readonly clock?: Clock;
  readonly onError?: (err: unknown) => void;
}

export class TypingEdus {
  readonly #deps: TypingEduDeps;
  readonly #clock: Clock;
  readonly #unsubscribe: () => void;
  /** room ID NUL user ID -> the timer of the next refresh, for local users typing. */
  readonly #refresh = new Map<string, TimerHandle>();
  /** Changes are sent in the order they happened, though looking up a room's servers is async. */
  #sending: Promise<void> = Promise.resolve();

  constructor(deps: TypingEduDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#unsubscribe = deps.typing.onTypingChange((change) => this.#localChange(change));
  }

  /** The m.typing EDU handler (m.typing.yaml: room_id, user_id and typing are required). */
  readonly handler: EduHandler = (origin, content) => {
    const { room_id: roomId, user_id: userId, typing } = content;
    if (typeof roomId !== "string" || typeof userId !== "string" || typeof typing !== "boolean") return;
    if (serverNameOf(userId) !== origin || origin === this.#deps.serverName) return;
    this.#deps.typing.setTyping(roomId, userId, typing, REMOTE_TYPING_TIMEOUT_MS);
  };

  /** Settles once the changes seen so far are queued for sending (tests). */
  async settled(): Promise<void> {
    await this.#sending;
  }

  close(): void {
    this.#unsubscribe();
    for (const timer of this.#refresh.values()) this.#clock.clearTimeout(timer);
    this.#refresh.clear();
  }

  #localChange({ roomId, userId, typing }: UserTypingChange): void {
    if (serverNameOf(userId) !== this.#deps.serverName) return;
    const key = `${roomId}\u0000${userId}`;
    const timer = this.#refresh.get(key);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#refresh.delete(key);
    if (typing) this.#scheduleRefresh(key, roomId, userId);
    this.#send(roomId, userId, typing);
  }

  #scheduleRefresh(key: string, roomId: string, userId: string): void {
    this.#refresh.set(
      key,
      this.#clock.setTimeout(() => {
        this.#refresh.delete(key);
        if (!this.#deps.typing.isTyping(roomId, userId)) return;
        this.#scheduleRefresh(key, roomId, userId);
        this.#send(roomId, userId, true);
      }, TYPING_REFRESH_MS),
    );
  }

  #send(roomId: string, userId: string, typing: boolean): void {
    this.#sending = this.#sending
      .then(async () => {
        const edu: Edu = { edu_type: "m.typing", content: { room_id: roomId, user_id: userId, typing } };
        for (const server of await this.#deps.serversInRoom(roomId)) {
          if (server !== this.#deps.serverName) this.#deps.enqueueEdu(server, edu);
        }
      })
      .catch((err: unknown) => this.#deps.onError?.(err));
  }
}
