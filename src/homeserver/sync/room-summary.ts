// The room summary of /sync (sync.yaml RoomSummary): m.heroes, m.joined_member_count and
// m.invited_member_count, computed from the membership index and cached per room until its
// membership changes.
import type { RoomHeads } from "./room-heads.ts";
import type { SyncMemberships } from "./sources.ts";
import { rememberRecent } from "../../core/recent-map.ts";

/** sync.yaml m.heroes: "the first 5 members of the room". */
const HEROES = 5;
const MAX_ROOMS = 20_000;

interface Members {
  /** Joined or invited, in stream order, enough to leave 5 once the reader is taken out. */
  readonly active: readonly string[];
  /** Left or banned, in stream order, for a room with nobody else joined or invited. */
  readonly former: readonly string[];
  readonly joined: number;
  readonly invited: number;
  readonly asOf: number;
}

export interface RoomSummary {
  readonly "m.heroes": string[];
  readonly "m.joined_member_count": number;
  readonly "m.invited_member_count": number;
}

export class RoomSummaries {
  readonly #memberships: SyncMemberships;
  readonly #heads: RoomHeads;
  readonly #cache = new Map<string, Members>();

  constructor(memberships: SyncMemberships, heads: RoomHeads) {
    this.#memberships = memberships;
    this.#heads = heads;
  }

  /** The summary as `userId` sees it, with the index applied up to `at`. */
  async summary(roomId: string, userId: string, at: number): Promise<RoomSummary> {
    const members = await this.#members(roomId, at);
    // "The list must never include the client's own user ID."; "When no joined or invited members
    // are available, this should consist of the banned and left users."
    let heroes = members.active.filter((u) => u !== userId).slice(0, HEROES);
    if (heroes.length === 0) heroes = members.former.filter((u) => u !== userId).slice(0, HEROES);
    return { "m.heroes": heroes, "m.joined_member_count": members.joined, "m.invited_member_count": members.invited };
  }

  async #members(roomId: string, at: number): Promise<Members> {
    const cached = this.#cache.get(roomId);
    if (cached !== undefined && this.#heads.memberChangeOf(roomId) <= cached.asOf) return cached;
    const rows = [...(await this.#memberships.members(roomId))].sort((a, b) => a.streamOrdering - b.streamOrdering);
    const active: string[] = [];
    const former: string[] = [];
    let joined = 0;
    let invited = 0;
    for (const row of rows) {
      if (row.membership === "join") joined++;
      if (row.membership === "invite") invited++;
      if (row.membership === "join" || row.membership === "invite") {
        if (active.length <= HEROES) active.push(row.userId);
      } else if ((row.membership === "leave" || row.membership === "ban") && former.length <= HEROES) {
        former.push(row.userId);
      }
    }
    const members: Members = { active, former, joined, invited, asOf: at };
    rememberRecent(this.#cache, roomId, members, MAX_ROOMS);
    return members;
  }
}
