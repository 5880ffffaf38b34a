// POST /user_directory/search (users.yaml, client-server-api#user-directory). Searched: the users
// "that share a room with the requesting user" and those joined to rooms "that have a public join
// rule" or "a world_readable history visibility" (the minimum the spec sets); local and remote
// alike, by user ID and display name, case-insensitively. Other servers are not asked.
import type { JsonObject } from "../../core/json.ts";
import type { UserDirectoryStore } from "../../storage/stores/user-directory.ts";
import type { RoomStateReader } from "./room-state.ts";

export interface UserDirectoryDeps {
  readonly store: UserDirectoryStore;
  readonly states: RoomStateReader;
}

/** Results by default ("Defaults to 10") and at most. */
export const USER_DIRECTORY_LIMITS = { defaultLimit: 10, maxLimit: 100 } as const;

export class UserDirectoryService {
  readonly #deps: UserDirectoryDeps;
  /** Whether each room is open to the directory (public join rule or world_readable history), as far as worked out. */
  readonly #open = new Map<string, boolean>();

  constructor(deps: UserDirectoryDeps) {
    this.#deps = deps;
  }

  /** The room's join rules or history visibility changed: work out again whether it is open. */
  roomChanged(roomId: string): void {
    this.#open.delete(roomId);
  }

  /** Up to `limit` (greater than zero) users matching every word of the term. */
  async search(searcher: string, searchTerm: string, limit: number): Promise<JsonObject> {
    const words = searchTerm.toLowerCase().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0) return { results: [], limited: false };
    const found = await this.#deps.store.search(searcher, await this.#openRooms(), words, limit + 1);
    const results = found.slice(0, limit).map((u) => {
      const out: JsonObject = { user_id: u.userId };
      if (u.displayName !== undefined) out["display_name"] = u.displayName;
      if (u.avatarUrl !== undefined) out["avatar_url"] = u.avatarUrl;
      return out;
    });
    return { results, limited: found.length > limit };
  }

  async #openRooms(): Promise<string[]> {
    const open: string[] = [];
    for (const roomId of await this.#deps.store.roomsWithMembers()) {
      let isOpen = this.#open.get(roomId);
      if (isOpen === undefined) {
        const state = await this.#deps.states.current(roomId);
        isOpen =
          state !== undefined &&
          ((await state.stringField("m.room.join_rules", "join_rule")) === "public" ||
            (await state.stringField("m.room.history_visibility", "history_visibility")) === "world_readable");
        this.#open.set(roomId, isOpen);
      }
      if (isOpen) open.push(roomId);
    }
    return open;
  }
}
