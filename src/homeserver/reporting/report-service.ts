// Reporting content (modules/report_content.md, client-server report_content.yaml): users report
// events, rooms and users to the server; the reports are stored for its admins ("Servers are free
// to handle the reported content however they desire").
import { MatrixError } from "../../core/errors.ts";
import { parseUserId, userIdParts, type UserId } from "../../core/identifiers/index.ts";
import type { ReportStore } from "../../storage/stores/reports.ts";
import type { RoomEventInfo } from "../roomserver/index.ts";

export interface ReportServiceDeps {
  readonly serverName: string;
  readonly store: ReportStore;
  /** Whether the room is stored here (its version, undefined when not); reads without waking the room. */
  readonly roomKnown: (roomId: string) => Promise<boolean>;
  /** The user's current membership of the room (the events area's RoomAccess.membershipOf). */
  readonly membershipOf: (roomId: string, userId: string) => Promise<string | undefined>;
  /** The event when it is in the room and the user may see it; throws M_NOT_FOUND otherwise (RoomAccess.visibleEvent). */
  readonly visibleEvent: (userId: string, roomId: string, eventId: string) => Promise<RoomEventInfo>;
  /** Whether a user ID was registered here. */
  readonly localUserExists: (userId: string) => Promise<boolean>;
  readonly now?: () => number;
}

export class ReportService {
  readonly #deps: ReportServiceDeps;
  readonly #now: () => number;

  constructor(deps: ReportServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * POST /rooms/{roomId}/report/{eventId}. modules/report_content.md (changed in v1.8): the
   * reporter MUST be joined to the room. report_content.yaml: 404 M_NOT_FOUND when the event is not
   * found or the reporter is not joined; the same answer for every such case (an unknown room, a
   * room they are not in, an event that is not there or that the history visibility rules hide from
   * them), so a report reveals nothing the reporter could not read.
   */
  async reportEvent(reporter: string, roomId: string, eventId: string, reason: string | undefined): Promise<void> {
    if (!(await this.#deps.roomKnown(roomId))) throw eventNotFound();
    if ((await this.#deps.membershipOf(roomId, reporter)) !== "join") throw eventNotFound();
    let event: RoomEventInfo;
    try {
      event = await this.#deps.visibleEvent(reporter, roomId, eventId);
    } catch (err) {
      if (err instanceof MatrixError && err.errcode === "M_NOT_FOUND") throw eventNotFound();
      throw err;
    }
    // A redacted event is still taken (report_content.yaml lets servers refuse it, not must): what
    // its sender did is what is reported, and the report keeps who that was.
    await this.#deps.store.add(reporter, { kind: "event", roomId, eventId, sender: event.event.sender, reason }, this.#now());
  }

  /**
   * POST /rooms/{roomId}/report (added in v1.13). modules/report_content.md: servers MUST NOT
   * restrict room reports to members, since users meet rooms through directories and invites too.
   * report_content.yaml (changed in v1.18) lets servers answer 200 whether or not the room exists,
   * against room ID enumeration: Weft does, and stores every report, since a room known here only
   * by an invite, or only in another server's directory, is as reportable as one it holds.
   */
  async reportRoom(reporter: string, roomId: string, reason: string): Promise<void> {
    await this.#deps.store.add(reporter, { kind: "room", roomId, reason }, this.#now());
  }

  /**
   * POST /users/{userId}/report (added in v1.14). modules/report_content.md: servers MUST NOT
   * restrict user reports to users sharing a room with the reported one. report_content.yaml lets
   * servers answer 200 whether or not the user exists: Weft does. A local user who does not exist
   * leaves nothing to store; a user of another server cannot be checked from here, and their report
   * is stored (this server's admins may still act on them in its rooms).
   */
  async reportUser(reporter: string, userId: string, reason: string): Promise<void> {
    const parsed = parseUserId(userId);
    if (parsed === undefined) throw new MatrixError("M_INVALID_PARAM", `'${userId}' is not a valid user ID`, 400);
    if (isLocal(parsed, this.#deps.serverName) && !(await this.#deps.localUserExists(parsed))) return;
    await this.#deps.store.add(reporter, { kind: "user", userId: parsed, reason }, this.#now());
  }
}

function isLocal(userId: UserId, serverName: string): boolean {
  return userIdParts(userId).serverName === serverName;
}

function eventNotFound(): MatrixError {
  return new MatrixError("M_NOT_FOUND", "The event was not found or you are not joined to the room", 404);
}
