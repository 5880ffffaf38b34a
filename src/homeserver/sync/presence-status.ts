// GET and PUT /presence/{userId}/status (presence.yaml). "You cannot set the presence state of
// another user"; reading is for users who share a room with the target ("Presence events are sent
// to interested parties where users share a room membership"), else 403 as presence.yaml allows.
// With presence disabled, PUT is accepted and ignored and everyone reads as offline (as Synapse).
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Presence, PresenceService } from "./presence.ts";

/** Synapse's cap on status messages: long enough for any status, short enough to fan out. */
export const MAX_STATUS_MSG_LENGTH = 1024;

export interface PresenceStatusDeps {
  readonly presence: PresenceService;
  readonly usersSharingRoomWith: (userId: string) => Promise<ReadonlySet<string>>;
}

export class PresenceStatus {
  readonly #deps: PresenceStatusDeps;

  constructor(deps: PresenceStatusDeps) {
    this.#deps = deps;
  }

  async get(requesterId: string, userId: string): Promise<JsonObject> {
    const { presence } = this.#deps;
    if (requesterId !== userId && presence.enabled && !(await this.#deps.usersSharingRoomWith(requesterId)).has(userId)) {
      throw new MatrixError("M_FORBIDDEN", "You are not allowed to see their presence", 403);
    }
    return { ...presence.getPresence(userId) };
  }

  set(requesterId: string, userId: string, state: Presence, statusMsg: string | undefined): void {
    if (requesterId !== userId) throw new MatrixError("M_FORBIDDEN", "Cannot set another user's presence", 403);
    if (statusMsg !== undefined && statusMsg.length > MAX_STATUS_MSG_LENGTH) {
      throw new MatrixError("M_INVALID_PARAM", `status_msg is longer than ${MAX_STATUS_MSG_LENGTH} characters`, 400);
    }
    // A state set without a message has none (as Synapse does).
    this.#deps.presence.setPresence(userId, state, statusMsg ?? null);
  }
}
