// What sync remembers of the room stream, fed by the roomserver's outputs: the stream's head, each
// room's latest position (so an incremental sync skips the rooms with nothing new without reading
// them), and where each room's members and each user's memberships last changed (so cached
// summaries and room lists know when they went stale). It also tells the notifier: a new event
// concerns its room, and a member event the user it is about (an invite reaches them so).
//
// The head a sync token may take is the highest position with every position below it committed.
// Rooms commit side by side on PostgreSQL, and positions (a sequence) may commit out of order: an
// output at 12 can come while 11 is still in its transaction. Were 12 handed out as a token, 11
// would land behind it and never be read. So an output above a gap waits (the notifier is told of
// it once the gap closes). A gap that stays open is a position no transaction will commit (one that
// was rolled back, to be retried at a new position). Positions come from a sequence, so the one
// missing was taken before the output above it, by a batch then in flight: once every batch in
// flight when the gap was seen has ended (the room engine's batchesInFlight), the gap is given up.
// GAP_GRACE_MS is only a last resort, should a position ever be taken elsewhere. On SQLite, with its
// one writer, gaps do not happen.
import type { RoomserverOutput } from "../roomserver/index.ts";
import { systemClock, type Clock, type TimerHandle } from "./clock.ts";
import type { Notifier } from "./notifier.ts";

type NewRoomEvent = Extract<RoomserverOutput, { kind: "new_room_event" }>;

/** How long a gap may stay open at most, whatever batchesInFlight says (a last resort). */
export const GAP_GRACE_MS = 10_000;

export class RoomHeads {
  readonly #notifier: Notifier;
  readonly #latestPosition: (roomId: string) => Promise<number>;
  readonly #clock: Clock;
  /** Resolves once the room engine's batches in flight at the call have ended (roomserver.batchesInFlight). */
  readonly #batchesInFlight: (() => Promise<void>) | undefined;
  /** The room stream's head at start: the changes noted here are those after it. */
  readonly start: number;
  #head: number;
  /** Outputs above the head, waiting for the positions below them, by position. */
  readonly #waiting = new Map<number, NewRoomEvent>();
  #gapTimer: TimerHandle | undefined;
  readonly #rooms = new Map<string, number>();
  readonly #memberChanges = new Map<string, number>();
  readonly #userChanges = new Map<string, number>();

  /**
   * `start` is the room stream's head when the server started (everything at or below it is
   * committed); `latestPosition` reads a room's newest position from storage.
   */
  constructor(
    notifier: Notifier,
    start: number,
    latestPosition: (roomId: string) => Promise<number>,
    options: { readonly clock?: Clock; readonly batchesInFlight?: () => Promise<void> } = {},
  ) {
    this.#notifier = notifier;
    this.start = start;
    this.#head = start;
    this.#latestPosition = latestPosition;
    this.#clock = options.clock ?? systemClock;
    this.#batchesInFlight = options.batchesInFlight;
  }

  /** The room stream's head: every event at or below it is committed and was told to us. */
  get head(): number {
    return this.#head;
  }

  /** A roomserver output: call it from roomserver.subscribe. */
  receive(output: RoomserverOutput): void {
    if (output.kind !== "new_room_event") return;
    const { roomId, streamOrdering } = output;
    // What only makes readers look (or look again) is noted at once: a room's latest position, and
    // the staleness of cached members and room lists.
    // Noted also for a room not read yet: a read of its position from storage may be in flight,
    // and may have missed this event (it keeps the later of the two). Positions taken since start
    // are above every stored one, so a position known only from outputs is the room's latest.
    this.#rooms.set(roomId, Math.max(this.#rooms.get(roomId) ?? 0, streamOrdering));
    const users = membersOf(output);
    for (const userId of users) this.#userChanges.set(userId, Math.max(this.#userChanges.get(userId) ?? 0, streamOrdering));
    if (users.length > 0) this.#memberChanges.set(roomId, Math.max(this.#memberChanges.get(roomId) ?? 0, streamOrdering));
    if (streamOrdering <= this.#head) {
      // Behind the head: a position taken for rolled back that committed after all. Readers past it
      // will not see it; it is told so that waiting readers at least wake.
      this.#tell(output);
      return;
    }
    this.#waiting.set(streamOrdering, output);
    this.#advance();
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

  /** Stops the gap timer (shutdown). */
  close(): void {
    if (this.#gapTimer !== undefined) this.#clock.clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
  }

  // Moves the head over every position told, in order, up to the first gap.
  #advance(): void {
    for (;;) {
      const next = this.#waiting.get(this.#head + 1);
      if (next === undefined) break;
      this.#waiting.delete(this.#head + 1);
      this.#head++;
      this.#tell(next);
    }
    if (this.#waiting.size === 0) {
      this.close();
      return;
    }
    // A gap: wait for the batches that could hold the position below, then take it for a rolled-back one.
    if (this.#gapTimer === undefined) {
      const gapAt = this.#head + 1;
      const below = Math.min(...this.#waiting.keys());
      const skip = (): void => {
        if (this.#gapTimer !== undefined) this.#clock.clearTimeout(this.#gapTimer);
        this.#gapTimer = undefined;
        if (this.#head + 1 === gapAt) {
          // Still the same gap. Every position below `below` was taken before the gap was seen, by a
          // batch that has ended since: those that committed came in meanwhile (told now, in order),
          // the rest were rolled back (given up). Jumping the head without telling them would leave
          // them waiting below it for ever, and this gap check spinning on them.
          while (this.#head < below - 1) {
            this.#head++;
            const output = this.#waiting.get(this.#head);
            if (output === undefined) continue;
            this.#waiting.delete(this.#head);
            this.#tell(output);
          }
        }
        this.#advance();
      };
      this.#gapTimer = this.#clock.setTimeout(skip, GAP_GRACE_MS);
      this.#batchesInFlight?.().then(() => {
        if (this.#gapTimer !== undefined && this.#head + 1 === gapAt) skip();
      }, () => undefined);
    }
  }

  #tell(output: NewRoomEvent): void {
    this.#notifier.notify("roomEvents", output.streamOrdering, { roomIds: [output.roomId], userIds: membersOf(output) });
  }
}

/** The users whose membership the event changed: an invite reaches its invitee so. */
function membersOf(output: NewRoomEvent): string[] {
  const users: string[] = [];
  for (const key of output.stateDelta.keys()) {
    if (key.startsWith("m.room.member\u0000")) users.push(key.slice("m.room.member\u0000".length));
  }
  const { event } = output;
  if (event.type === "m.room.member" && event.stateKey !== undefined && !users.includes(event.stateKey)) users.push(event.stateKey);
  return users;
}
