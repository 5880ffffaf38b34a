// Read markers (modules/read_markers.md, read_markers.yaml): the fully read marker lives in the
// room's account data as m.fully_read, which clients cannot set directly ("The server MUST prevent
// clients from setting m.fully_read directly"); the same request may move the read receipts, "the
// same as how it would for a request to /receipt/{receiptType}/{eventId}".
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import { READ, READ_PRIVATE, type ReceiptService, type ReceiptedEvent } from "./receipts.ts";

export const FULLY_READ = "m.fully_read";

export interface ReadMarkerDeps {
  readonly receipts: ReceiptService;
  readonly getEvent: (eventId: string) => Promise<ReceiptedEvent | undefined>;
  readonly isJoined: (roomId: string, userId: string) => Promise<boolean>;
  /** accountData.putServerManaged. */
  readonly putRoomAccountData: (userId: string, roomId: string, type: string, content: JsonObject) => Promise<unknown>;
}

export interface ReadMarkers {
  readonly fullyRead?: string | undefined;
  readonly read?: string | undefined;
  readonly readPrivate?: string | undefined;
}

export class ReadMarkerService {
  readonly #deps: ReadMarkerDeps;

  constructor(deps: ReadMarkerDeps) {
    this.#deps = deps;
  }

  /**
   * POST /rooms/{roomId}/receipt/{receiptType}/{eventId}: receiptType m.fully_read "effectively
   * calls /read_markers internally"; the others are receipts.
   */
  async sendReceipt(userId: string, roomId: string, receiptType: string, eventId: string, threadId: unknown): Promise<void> {
    if (receiptType !== FULLY_READ) return await this.#deps.receipts.sendReceipt(userId, roomId, receiptType, eventId, threadId);
    // receipts.yaml 400: thread_id "is provided for an incompatible receipt type".
    if (threadId !== undefined) throw new MatrixError("M_INVALID_PARAM", "thread_id is not allowed for m.fully_read", 400);
    await this.setReadMarkers(userId, roomId, { fullyRead: eventId });
  }

  /** POST /rooms/{roomId}/read_markers. */
  async setReadMarkers(userId: string, roomId: string, markers: ReadMarkers): Promise<void> {
    const d = this.#deps;
    if (!(await d.isJoined(roomId, userId))) throw new MatrixError("M_FORBIDDEN", "You are not joined to this room", 403);
    if (markers.fullyRead !== undefined) {
      // read_markers.yaml: "The event MUST belong to the room."
      const event = await d.getEvent(markers.fullyRead);
      if (event === undefined || event.roomId !== roomId) throw new MatrixError("M_NOT_FOUND", "Event not found in this room", 404);
      await d.putRoomAccountData(userId, roomId, FULLY_READ, { event_id: markers.fullyRead });
    }
    if (markers.read !== undefined) await d.receipts.sendReceipt(userId, roomId, READ, markers.read, undefined);
    if (markers.readPrivate !== undefined) await d.receipts.sendReceipt(userId, roomId, READ_PRIVATE, markers.readPrivate, undefined);
  }
}
