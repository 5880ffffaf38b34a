// PUT /rooms/{roomId}/typing/{userId} (typing.yaml): who may say they are typing where. Only for
// oneself, only in a room one is joined to; typing counts as activity for presence.
import { MatrixError } from "../../core/errors.ts";
import { DEFAULT_TYPING_TIMEOUT_MS, type TypingService } from "./typing.ts";

export interface TypingNotificationDeps {
  readonly typing: TypingService;
  readonly isJoined: (roomId: string, userId: string) => Promise<boolean>;
  readonly onActive?: (userId: string) => void;
  /** Whether a server admin shadow-banned the user: their typing is answered and told nobody. */
  readonly shadowBanned?: (userId: string) => boolean;
}

export class TypingNotifications {
  readonly #deps: TypingNotificationDeps;

  constructor(deps: TypingNotificationDeps) {
    this.#deps = deps;
  }

  async setTyping(requesterId: string, roomId: string, userId: string, typing: boolean, timeoutMs: number | undefined): Promise<void> {
    if (requesterId !== userId) throw new MatrixError("M_FORBIDDEN", "Cannot set another user's typing state", 403);
    if (!(await this.#deps.isJoined(roomId, userId))) throw new MatrixError("M_FORBIDDEN", "You are not joined to this room", 403);
    if (this.#deps.shadowBanned?.(userId) === true) return;
    this.#deps.typing.setTyping(roomId, userId, typing, timeoutMs ?? DEFAULT_TYPING_TIMEOUT_MS);
    if (typing) this.#deps.onActive?.(userId);
  }
}
