// Per-user state sync keeps in memory so that an incremental sync with nothing new reads no
// storage: the user's rooms (with their membership) and the users they ignore. Each entry knows
// when it was read and is dropped when a change after that is told.
import { rememberRecent } from "../../core/recent-map.ts";
import type { RoomHeads } from "./room-heads.ts";
import type { MembershipAt, SyncMemberships } from "./sources.ts";

const MAX_USERS = 10_000;


export class UserRooms {
  readonly #memberships: SyncMemberships;
  readonly #heads: RoomHeads;
  readonly #cache = new Map<string, { readonly rooms: readonly MembershipAt[]; readonly asOf: number }>();

  constructor(memberships: SyncMemberships, heads: RoomHeads) {
    this.#memberships = memberships;
    this.#heads = heads;
  }

  /**
   * The user's rooms and memberships as of room stream position `at` (the index must have applied
   * up to it). A membership the index already holds from after `at` is wound back with the log.
   */
  async roomsAt(userId: string, at: number): Promise<readonly MembershipAt[]> {
    const cached = this.#cache.get(userId);
    if (cached !== undefined && cached.asOf <= at && this.#heads.userChangeOf(userId) <= cached.asOf) return cached.rooms;
    let rooms = await this.#memberships.roomsForUser(userId);
    if (rooms.some((r) => r.streamOrdering > at)) {
      const log = await this.#memberships.membershipChangesSince(userId, 0, at);
      const lastAt = new Map<string, MembershipAt>();
      for (const change of log) lastAt.set(change.roomId, change);
      rooms = rooms.flatMap((r) => (r.streamOrdering <= at ? [r] : (lastAt.get(r.roomId) ?? [])));
      return rooms; // not cached: it is a view of the past
    }
    rememberRecent(this.#cache, userId, { rooms, asOf: at }, MAX_USERS);
    return rooms;
  }
}

/** modules/ignore_users.md: the users in the user's m.ignored_user_list. */
export class IgnoredUsers {
  readonly #load: (userId: string) => Promise<ReadonlySet<string>>;
  readonly #cache = new Map<string, ReadonlySet<string>>();
  readonly #generation = new Map<string, number>();

  /** `load` reads the users of the user's m.ignored_user_list. */
  constructor(load: (userId: string) => Promise<ReadonlySet<string>>) {
    this.#load = load;
  }

  /** Call when the user's m.ignored_user_list changed. */
  changed(userId: string): void {
    this.#cache.delete(userId);
    this.#generation.set(userId, (this.#generation.get(userId) ?? 0) + 1);
  }

  async of(userId: string): Promise<ReadonlySet<string>> {
    const cached = this.#cache.get(userId);
    if (cached !== undefined) return cached;
    const generation = this.#generation.get(userId) ?? 0;
    const users = await this.#load(userId);
    // A change that landed while reading may not be in what was read: not cached then.
    if ((this.#generation.get(userId) ?? 0) === generation) rememberRecent(this.#cache, userId, users, MAX_USERS);
    return users;
  }
}
