// Who may be pushed about a room's events: its joined members who have a pusher (all of them users
// of this server), and the number of joined members (room_member_count). Kept per room until a
// membership of the room or a pusher changes, so that a room where nobody has a pusher, the common
// case, is skipped without reading anything.
import { rememberRecent } from "../../core/recent-map.ts";

/** What is read of the membership index. */
export interface MemberSource {
  /** Resolves once the index has applied the room stream up to the position. */
  waitUntil(streamOrdering: number): Promise<void>;
  joinedMembers(roomId: string): Promise<string[]>;
}

/** What is read of the pushers. */
export interface PusherPresence {
  hasPushers(userId: string): boolean;
  /** Bumped at every change of any pusher. */
  readonly version: number;
}

export interface RoomRecipients {
  /** Joined members with a pusher. */
  readonly users: readonly string[];
  /** modules/push.md room_member_count: the joined members. */
  readonly memberCount: number;
}

interface Entry extends RoomRecipients {
  readonly pusherVersion: number;
}

const MAX_ROOMS = 20_000;

export class PushRecipients {
  readonly #members: MemberSource;
  readonly #pushers: PusherPresence;
  readonly #rooms = new Map<string, Entry>();
  /** When each room's membership last changed, as a count of changes seen (recent rooms only). */
  readonly #changedAt = new Map<string, number>();
  #changes = 0;
  /** The latest change forgotten from #changedAt: a read begun before it may be stale. */
  #forgottenUpTo = 0;

  constructor(members: MemberSource, pushers: PusherPresence) {
    this.#members = members;
    this.#pushers = pushers;
  }

  /** Whether the room is known, without reading, to have no member with a pusher. */
  knownEmpty(roomId: string): boolean {
    const entry = this.#rooms.get(roomId);
    return entry !== undefined && entry.pusherVersion === this.#pushers.version && entry.users.length === 0;
  }

  /** The room's membership changed (a member event, or a state change of its members). */
  membershipChanged(roomId: string): void {
    this.#rooms.delete(roomId);
    this.#changes++;
    if (this.#changedAt.size >= MAX_ROOMS) {
      const oldest = this.#changedAt.entries().next();
      if (oldest.done !== true) this.#forgottenUpTo = Math.max(this.#forgottenUpTo, oldest.value[1]);
    }
    rememberRecent(this.#changedAt, roomId, this.#changes, MAX_ROOMS);
  }

  /** The room's recipients, once the membership index has applied `streamOrdering`. */
  async of(roomId: string, streamOrdering: number): Promise<RoomRecipients> {
    const cached = this.#rooms.get(roomId);
    if (cached !== undefined && cached.pusherVersion === this.#pushers.version) return cached;
    const began = this.#changes;
    await this.#members.waitUntil(streamOrdering);
    const members = await this.#members.joinedMembers(roomId);
    // Pushers are read now, after the members: the version taken with them says what they reflect.
    const pusherVersion = this.#pushers.version;
    const entry: Entry = { users: members.filter((userId) => this.#pushers.hasPushers(userId)), memberCount: members.length, pusherVersion };
    // A change that came while reading may be missing from what was read: not kept then.
    if ((this.#changedAt.get(roomId) ?? 0) <= began && this.#forgottenUpTo <= began) rememberRecent(this.#rooms, roomId, entry, MAX_ROOMS);
    return entry;
  }
}
