// Rooms a server admin blocked (Synapse's admin API .../rooms/{roomId}/block): users of this server
// may not join them, knock on them or be invited to them, here (membership-service.ts) or by other
// servers (federation/invites.ts). Those already in a blocked room stay until they leave or are
// removed. The blocked rooms are few and asked on every join: they are kept in memory, loaded at start.
import { MatrixError } from "../../core/errors.ts";
import type { BlockedRoomStore } from "../../storage/stores/blocked-rooms.ts";

export class RoomBlocks {
  readonly #store: BlockedRoomStore;
  readonly #now: () => number;
  /** Room ID to the admin who blocked it. */
  #blocked = new Map<string, string>();

  constructor(store: BlockedRoomStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async load(): Promise<void> {
    this.#blocked = await this.#store.all();
  }

  /** The admin who blocked the room, if it is blocked. */
  blockedBy(roomId: string): string | undefined {
    return this.#blocked.get(roomId);
  }

  /** Throws 403 M_FORBIDDEN for a blocked room. */
  check(roomId: string): void {
    if (this.#blocked.has(roomId)) throw new MatrixError("M_FORBIDDEN", "This room has been blocked on this server", 403);
  }

  async set(roomId: string, blocked: boolean, by: string): Promise<void> {
    await this.#store.set(roomId, blocked, by, this.#now());
    if (!blocked) this.#blocked.delete(roomId);
    else if (!this.#blocked.has(roomId)) this.#blocked.set(roomId, by);
  }
}
