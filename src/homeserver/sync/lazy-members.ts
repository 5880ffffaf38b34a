// Lazy-loading room members (client-server-api#lazy-loading-room-members): "the server MAY assume
// that clients will remember membership events they have already been sent, and choose to skip
// sending membership events for members whose membership has not changed". What each device was
// sent is kept here, per room: user ID -> the member event ID. A sync without `since` starts the
// device afresh (the client starts afresh too).
const MAX_DEVICES = 5_000;

export class LazyMemberCache {
  readonly #devices = new Map<string, Map<string, Map<string, string>>>();

  #device(userId: string, deviceId: string): Map<string, Map<string, string>> {
    const key = `${userId}\u0000${deviceId}`;
    let rooms = this.#devices.get(key);
    if (rooms === undefined) {
      rooms = new Map();
    } else {
      this.#devices.delete(key); // re-inserted last: the most recently used
    }
    this.#devices.set(key, rooms);
    if (this.#devices.size > MAX_DEVICES) {
      const oldest = this.#devices.keys().next();
      if (oldest.done !== true) this.#devices.delete(oldest.value);
    }
    return rooms;
  }

  /** An initial sync: the device knows nothing yet. */
  reset(userId: string, deviceId: string): void {
    this.#device(userId, deviceId).clear();
  }

  /** The member event of `memberId` the device was last sent in the room, if any. */
  sent(userId: string, deviceId: string, roomId: string, memberId: string): string | undefined {
    return this.#device(userId, deviceId).get(roomId)?.get(memberId);
  }

  /** The device was sent these member events (state key -> event ID) in the room. */
  record(userId: string, deviceId: string, roomId: string, members: Iterable<readonly [string, string]>): void {
    const rooms = this.#device(userId, deviceId);
    let room = rooms.get(roomId);
    if (room === undefined) rooms.set(roomId, (room = new Map()));
    for (const [memberId, eventId] of members) room.set(memberId, eventId);
  }
}
