// Tracking the device list for a user (modules/end_to_end_encryption.md#tracking-the-device-list-for-a-user,
// #e2e-extensions-to-sync): the device-list stream sync and keys/changes read.
//
// What goes into the stream (storage/stores/device-lists.ts): a user's key changes (new or deleted
// devices, device keys uploaded, cross-signing keys or signatures changed), and every membership
// change (who shares a room with whom may have changed). What a reader is told is worked out when
// it reads, from who shares a room with it now:
// - `changed`: users with key changes who share a room with it (itself included), and users who
//   share a room with it after a membership change in a room it is or was in (the spec lets a
//   server list a user who already shared another room: the note under #e2e-extensions-to-sync);
// - `left`: users of such membership changes who share no room with it any more.
import type { StateDelta } from "../roomserver/index.ts";
import type { Notifier } from "../sync/notifier.ts";
import type { DeviceListEntry, DeviceListStore } from "../../storage/stores/device-lists.ts";

export interface DeviceListChanges {
  /** Users whose devices or cross-signing keys changed, or who newly share a room with the user. */
  readonly changed: string[];
  /** Users who no longer share any room with the user. */
  readonly left: string[];
}

/** Who shares rooms with whom: the rooms area's membership index answers these. */
export interface RoomMembershipView {
  /** The rooms the user is joined to. */
  joinedRooms(userId: string): Promise<string[]>;
  joinedMembers(roomId: string): Promise<string[]>;
  /** The users joined to a room the user is joined to (the user among them when joined anywhere). */
  usersSharingRoomWith(userId: string): Promise<Set<string>>;
}

export type StreamNotifier = Pick<Notifier, "notify">;

const MEMBER_KEY_PREFIX = "m.room.member\u0000";

/** The users whose membership of the room changed with a state delta. */
export function membershipChangesIn(stateDelta: StateDelta): string[] {
  const users: string[] = [];
  for (const key of stateDelta.keys()) if (key.startsWith(MEMBER_KEY_PREFIX)) users.push(key.slice(MEMBER_KEY_PREFIX.length));
  return users;
}

export interface DeviceListServiceOptions {
  readonly onError?: (error: unknown, what: string) => void;
}

export class DeviceListService {
  readonly #store: DeviceListStore;
  readonly #memberships: RoomMembershipView;
  readonly #notifier: StreamNotifier;
  readonly #onError: (error: unknown, what: string) => void;
  #position: number;
  /** Membership changes heard and not written yet; written in batches, in the order heard. */
  #pendingMembers: { userId: string; roomId: string }[] = [];
  #writingMembers: Promise<void> | undefined;

  private constructor(store: DeviceListStore, memberships: RoomMembershipView, notifier: StreamNotifier, position: number, options: DeviceListServiceOptions) {
    this.#store = store;
    this.#memberships = memberships;
    this.#notifier = notifier;
    this.#position = position;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Loads the stream's position. */
  static async create(store: DeviceListStore, memberships: RoomMembershipView, notifier: StreamNotifier, options: DeviceListServiceOptions = {}): Promise<DeviceListService> {
    return new DeviceListService(store, memberships, notifier, await store.maxStreamId(), options);
  }

  /** The stream's current position: every entry at or below it is committed. */
  position(): number {
    return this.#position;
  }

  /**
   * The user's devices or cross-signing keys changed. With `observer`, only that user is told
   * (a signature made with its user-signing key, which only it may see).
   */
  async keysChanged(userId: string, observer?: string): Promise<void> {
    const entry: DeviceListEntry = observer === undefined ? { kind: "keys", userId } : { kind: "keys", userId, observer };
    const position = await this.#store.append([entry]);
    this.#advance(position);
    if (observer !== undefined) {
      this.#notifier.notify("deviceLists", position, { userIds: [observer] });
      return;
    }
    // Everyone sharing a room with the user waits on one of its rooms, or on the user itself.
    const roomIds = await this.#memberships.joinedRooms(userId).catch((error: unknown) => {
      this.#onError(error, "reading the rooms of a user whose keys changed");
      return [];
    });
    this.#notifier.notify("deviceLists", position, { userIds: [userId], roomIds });
  }

  /**
   * Users' memberships of a room changed. Call it once the membership index has applied the
   * change, so a reader woken by it finds the new memberships. Written in the background, in order.
   */
  membershipsChanged(roomId: string, userIds: readonly string[]): void {
    for (const userId of userIds) this.#pendingMembers.push({ userId, roomId });
    this.#writeMembers();
  }

  /** Resolves once the membership changes heard so far are written (for tests and shutdown). */
  async flush(): Promise<void> {
    while (this.#writingMembers !== undefined) await this.#writingMembers;
  }

  /** What /sync reports for the span after `sincePosition` (up to the current position). */
  changesSince(userId: string, sincePosition: number): Promise<DeviceListChanges> {
    return this.changesBetween(userId, sincePosition, this.#position);
  }

  /** What the user is told for the span from < position <= to (keys/changes passes both). */
  async changesBetween(userId: string, from: number, to: number): Promise<DeviceListChanges> {
    const upTo = Math.min(to, this.#position);
    if (upTo <= from) return { changed: [], left: [] };
    const entries = await this.#store.between(userId, from, upTo);
    if (entries.length === 0) return { changed: [], left: [] };

    const [joinedRooms, sharing] = await Promise.all([this.#memberships.joinedRooms(userId), this.#memberships.usersSharingRoomWith(userId)]);
    const changed = new Set<string>();
    const candidates = new Set<string>();
    // The rooms whose membership changes concern the user: those it is in, and those it left since.
    const rooms = new Set(joinedRooms);
    const ownMembershipRooms = new Set<string>();
    for (const e of entries) {
      if (e.kind === "member" && e.userId === userId) {
        rooms.add(e.roomId);
        ownMembershipRooms.add(e.roomId);
      }
    }
    for (const e of entries) {
      if (e.kind === "keys") {
        if (e.observer === userId || e.userId === userId || sharing.has(e.userId)) changed.add(e.userId);
      } else if (e.userId !== userId && rooms.has(e.roomId)) {
        candidates.add(e.userId);
      }
    }
    // The user joined or left a room: its members now either share a room with the user or not.
    for (const roomId of ownMembershipRooms) for (const member of await this.#memberships.joinedMembers(roomId)) candidates.add(member);
    const left: string[] = [];
    for (const candidate of candidates) {
      if (candidate === userId) continue;
      if (sharing.has(candidate)) changed.add(candidate);
      else left.push(candidate);
    }
    return { changed: [...changed].sort(), left: left.filter((u) => !changed.has(u)).sort() };
  }

  #writeMembers(): void {
    if (this.#writingMembers !== undefined) return;
    this.#writingMembers = (async () => {
      while (this.#pendingMembers.length > 0) {
        const batch = this.#pendingMembers.splice(0, 500);
        try {
          const position = await this.#store.append(batch.map((m) => ({ kind: "member", userId: m.userId, roomId: m.roomId })));
          this.#advance(position);
          this.#notifier.notify("deviceLists", position, {
            userIds: [...new Set(batch.map((m) => m.userId))],
            roomIds: [...new Set(batch.map((m) => m.roomId))],
          });
        } catch (error) {
          this.#onError(error, "recording membership changes in the device-list stream");
        }
      }
      this.#writingMembers = undefined;
    })();
  }

  #advance(position: number): void {
    if (position > this.#position) this.#position = position;
  }
}
