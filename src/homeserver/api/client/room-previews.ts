// Room previews (modules/room_previews.md): GET /rooms/{roomId}/initialSync (room_initial_sync.yaml)
// and the peeking GET /events (peeking_events.yaml). Guests may use both (modules/guest_access.md).
import { MatrixError } from "../../../core/errors.ts";
import { DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT } from "../../../core/filters/index.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { RoomPreviews } from "../../sync/room-previews.ts";
import { limitParam, roomIdParam, timeoutParam, tokenParam, validRoomId } from "./event-params.ts";
import { queryParam, requesterOf } from "./requester.ts";

/** How long GET /events waits when the client names no timeout (Synapse's 30 seconds). */
const DEFAULT_PEEK_TIMEOUT_MS = 30_000;

export function roomPreviewEndpoints(previews: RoomPreviews): Endpoint[] {
  const initialSync: Endpoint = {
    name: "client.room_initial_sync",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/initialSync"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await previews.initialSync(requesterOf(req), roomIdParam(req), limitParam(req, DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT)),
  };

  const peek: Endpoint = {
    name: "client.peek_events",
    method: "GET",
    paths: clientPaths("/events"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const roomId = queryParam(req, "room_id");
      // Without room_id this is old_sync.yaml's event stream, deprecated since r0 for /sync: not served.
      if (roomId === undefined) throw new MatrixError("M_UNRECOGNIZED", "The event stream without room_id is not served: use /sync", 404);
      const from = tokenParam(req, "from");
      return await previews.peek(
        requesterOf(req),
        validRoomId(roomId),
        { from: from.position, fromToken: from.token, timeoutMs: timeoutParam(req, DEFAULT_PEEK_TIMEOUT_MS) },
        // A client that hung up ends its long-poll at once.
        req.signal,
      );
    },
  };

  return [initialSync, peek];
}
