// What sync remembers of the room stream, fed by the roomserver's outputs: the stream's head, each
// room's latest position (so an incremental sync skips the rooms with nothing new without reading
// them), and where each room's members and each user's memberships last changed (so cached
// summaries and room lists know when they went stale). It also tells the notifier: a new event
// concerns its room, and a member event the user it is about (an invite reaches them so).
import type { RoomserverOutput } from "../roomserver/index.ts";
import type { Notifier } from "./notifier.ts";

export class RoomHeads {
  readonly #notifier: Notifier;
  readonly #latestPosition: (roomId: string) => Promise<number>;
  #head: number;
  readonly #rooms = new Map<string, number>();
  readonly #memberChanges = new Map<string, number>();
  readonly #userChanges = new Map<string, number>();
  readonly #listeners: ((output: Extract<RoomserverOutput, { kind: "new_room_event" }>) => void)[] = [];

  /**
   * `start` is the room stream's head when the server started (everything at or below it is
   * committed); `latestPosition` reads a room's newest position from storage.
   */
  constructor(notifier: Notifier, start: number, latestPosition: (roomId: string) => Promise<number>) {
    this.#notifier = notifier;
    this.#head = start;
    this.#latestPosition = latestPosition;
  }

  /** The room stream's head: every event at or below it is committed and was told to us. */
  get head(): number {
    return this.#head;
  }

  /** Also told of each new event, after the bookkeeping (unread counts listen here). */
  onEvent(listener: (output: Extract<RoomserverOutput, { kind: "new_room_event" }>) => void): void {
    this.#listeners.push(listener);
  }

  /** A roomserver output: call it from roomserver.subscribe. */
  receive(output: RoomserverOutput): void {
    if (output.kind !== "new_room_event") return;
    const { roomId, streamOrdering, event } = output;
    this.#head = Math.max(this.#head, streamOrdering);
    const known = this.#rooms.get(roomId);
    if (known !== undefined) this.#rooms.set(roomId, Math.max(known, streamOrdering));
    const users: string[] = [];
    for (const key of output.stateDelta.keys()) {
      if (!key.startsWith("m.room.member\u0000")) continue;
      const userId = key.slice("m.room.member\u0000".length);
      users.push(userId);
      this.#userChanges.set(userId, Math.max(this.#userChanges.get(userId) ?? 0, streamOrdering));
    }
    if (event.type === "m.room.member" && event.stateKey !== undefined && !users.includes(event.stateKey)) users.push(event.stateKey);
    if (users.length > 0) this.#memberChanges.set(roomId, Math.max(this.#memberChanges.get(roomId) ?? 0, streamOrdering));
    for (const listener of this.#listeners) listener(output);
    this.#notifier.notify("roomEvents", streamOrdering, { roomIds: [roomId], userIds: users });
  }

  /** The room's newest position (read from storage once, then kept from the outputs). */
  async roomPosition(roomId: string): Promise<number> {
    const known = this.#rooms.get(roomId);
    if (known !== undefined) return known;
    const stored = await this.#latestPosition(roomId);
    // An output may have come in while reading: keep the later.
    const position = Math.max(stored, this.#rooms.get(roomId) ?? 0);
    this.#rooms.set(roomId, position);
    return position;
  }

  /** The last position at which the room's membership changed since start (0: not since start). */
  memberChangeOf(roomId: string): number {
    return this.#memberChanges.get(roomId) ?? 0;
  }

  /** The last position at which the user's membership of some room changed since start. */
  userChangeOf(userId: string): number {
    return this.#userChanges.get(userId) ?? 0;
  }
}
