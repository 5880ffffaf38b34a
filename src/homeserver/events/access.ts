// Who may read what in a room. Which events a user may see is the history visibility rules' to say
// (the rooms area's HistoryVisibility, behind EventVisibility); this file only turns those answers
// and the user's membership into the views the read endpoints serve (rooms.yaml: the current state
// for members, the state when they left for former members, M_FORBIDDEN otherwise).
import { MatrixError } from "../../core/errors.ts";
import { stateMapKey, type StateMap } from "../../core/events/room-event.ts";
import type { RoomEventInfo, Roomserver } from "../roomserver/index.ts";

/** The history visibility rules (client-server-api#history-visibility), as the rooms area provides them. */
export interface EventVisibility {
  /** The events among these the user may see, in their order. */
  filterEventsForUser(userId: string, events: readonly RoomEventInfo[]): Promise<RoomEventInfo[]>;
  canSeeEvent(userId: string, eventId: string): Promise<boolean>;
}

/** Which state of the room a user may read. */
export type StateView =
  | { readonly kind: "current" }
  /** A former member: the state after the event that ended their membership. */
  | { readonly kind: "left"; readonly eventId: string; readonly streamOrdering: number | undefined };

/** How long a read waits for the membership index at most before it decides with what it has. */
const SETTLE_WAIT_MS = 2000;

/** Whether the user forgot the room (POST /forget) since their membership last changed. */
export type ForgottenCheck = (userId: string, roomId: string) => Promise<boolean>;

export class RoomAccess {
  readonly #roomserver: Roomserver;
  readonly #visibility: EventVisibility;
  readonly #settle: () => Promise<void>;
  readonly #forgotten: ForgottenCheck;

  /**
   * `settle` resolves once the membership index the visibility rules read has applied what the
   * room engine committed so far, so a user who just joined is seen as joined.
   */
  constructor(
    roomserver: Roomserver,
    visibility: EventVisibility,
    settle: () => Promise<void> = () => Promise.resolve(),
    forgotten: ForgottenCheck = () => Promise.resolve(false),
  ) {
    this.#roomserver = roomserver;
    this.#visibility = visibility;
    this.#forgotten = forgotten;
    this.#settle = async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SETTLE_WAIT_MS);
        timer.unref();
      });
      try {
        await Promise.race([settle(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
  }

  get visibility(): EventVisibility {
    return this.#visibility;
  }

  /** The user's current m.room.member event in the room, if any. */
  async membershipEvent(roomId: string, userId: string): Promise<RoomEventInfo | undefined> {
    const state = await this.#roomserver.currentState(roomId);
    const id = state?.get(stateMapKey("m.room.member", userId));
    return id === undefined ? undefined : await this.#roomserver.getEvent(id);
  }

  async membershipOf(roomId: string, userId: string): Promise<string | undefined> {
    const event = await this.membershipEvent(roomId, userId);
    const membership = event?.event.content["membership"];
    return typeof membership === "string" ? membership : undefined;
  }

  /**
   * The state a user may read (rooms.yaml GET /state): the current state when joined or when the
   * visibility rules let them see the room as it is now (world_readable); the state when they
   * left for a former member who has not forgotten the room; M_FORBIDDEN otherwise, also for a
   * room not known here.
   */
  async stateView(userId: string, roomId: string): Promise<StateView> {
    await this.#settle();
    const state = await this.#roomserver.currentState(roomId);
    if (state === undefined) throw notInRoom();
    const memberId = state.get(stateMapKey("m.room.member", userId));
    const member = memberId === undefined ? undefined : await this.#roomserver.getEvent(memberId);
    const membership = member?.event.content["membership"];
    if (membership === "join") return { kind: "current" };
    if (await this.#forgot(userId, roomId, membership, state)) throw notInRoom();
    if (await this.#canSeeNow(roomId, userId)) return { kind: "current" };
    if (member !== undefined && (membership === "leave" || membership === "ban")) {
      return { kind: "left", eventId: member.event.eventId, streamOrdering: member.streamOrdering };
    }
    throw notInRoom();
  }

  /**
   * The part of the room's stream a user may page through: up to the end for members and rooms
   * they can see now, up to the end of their membership for former members. M_FORBIDDEN when they
   * have no part in the room at all.
   */
  async readableUpTo(userId: string, roomId: string): Promise<{ upTo: number | undefined }> {
    await this.#settle();
    const state = await this.#roomserver.currentState(roomId);
    if (state === undefined) throw notInRoom();
    const memberId = state.get(stateMapKey("m.room.member", userId));
    const member = memberId === undefined ? undefined : await this.#roomserver.getEvent(memberId);
    const membership = member?.event.content["membership"];
    if (membership === "join" || membership === "invite" || membership === "knock") return { upTo: undefined };
    if (await this.#forgot(userId, roomId, membership, state)) throw notInRoom();
    if (await this.#canSeeNow(roomId, userId)) return { upTo: undefined };
    if (member !== undefined && (membership === "leave" || membership === "ban")) return { upTo: member.streamOrdering };
    throw notInRoom();
  }

  /** The event, when it is in the room and the user may see it; M_NOT_FOUND otherwise (rooms.yaml). */
  async visibleEvent(userId: string, roomId: string, eventId: string): Promise<RoomEventInfo> {
    await this.#settle();
    const info = await this.#roomserver.getEvent(eventId);
    if (info === undefined || info.event.roomId !== roomId || info.rejectedReason !== undefined || info.softFailed || info.outlier) {
      throw eventNotFound();
    }
    const [visible] = await this.#visibility.filterEventsForUser(userId, [info]);
    if (visible === undefined) throw eventNotFound();
    if (await this.#forgotRoom(userId, roomId)) throw eventNotFound();
    return visible;
  }

  /** Whether the user left the room and forgot it since (its history is closed to them, see #forgot). */
  async #forgotRoom(userId: string, roomId: string): Promise<boolean> {
    const state = await this.#roomserver.currentState(roomId);
    const memberId = state?.get(stateMapKey("m.room.member", userId));
    if (state === undefined || memberId === undefined) return false;
    const membership = (await this.#roomserver.getEvent(memberId))?.event.content["membership"];
    return await this.#forgot(userId, roomId, membership, state);
  }

  // leaving.yaml /forget: "After this API is called, however, a user will no longer be able to
  // retrieve history for this room" (a world_readable room stays readable, as to anyone).
  async #forgot(userId: string, roomId: string, membership: unknown, state: StateMap): Promise<boolean> {
    if (membership !== "leave" && membership !== "ban") return false;
    if (!(await this.#forgotten(userId, roomId))) return false;
    const visibilityId = state.get(stateMapKey("m.room.history_visibility", ""));
    const visibility = visibilityId === undefined ? undefined : await this.#roomserver.getEvent(visibilityId);
    return visibility?.event.content["history_visibility"] !== "world_readable";
  }

  // Whether the user may see the room's newest events: what a non-member may see of the room now.
  async #canSeeNow(roomId: string, userId: string): Promise<boolean> {
    for (const id of await this.#roomserver.forwardExtremities(roomId)) {
      if (await this.#visibility.canSeeEvent(userId, id)) return true;
    }
    return false;
  }
}

export function notInRoom(): MatrixError {
  return new MatrixError("M_FORBIDDEN", "You aren't a member of the room", 403);
}

export function eventNotFound(): MatrixError {
  return new MatrixError("M_NOT_FOUND", "Event not found", 404);
}
