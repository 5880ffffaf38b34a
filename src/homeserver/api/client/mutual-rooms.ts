// GET /mutual_rooms (modules/mutual_rooms.md, mutual_rooms.yaml, v1.19): the rooms both the
// requester and another user are joined to, in batches.
import { MatrixError } from "../../../core/errors.ts";
import { parseUserId } from "../../../core/identifiers/index.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { MembershipService } from "../../rooms/membership-service.ts";
import { queryParam, requesterOf } from "./requester.ts";

/** How many room IDs one answer holds at most; the rest follow with `next_batch`. */
export const MUTUAL_ROOMS_BATCH = 100;

/**
 * One batch of the rooms (sorted by room ID, so that a token is a place in the list that stays
 * valid however long it is kept): those after the `from` token, and the token for the next batch.
 * The token is opaque to clients (appendices#opaque-identifiers): the last room ID given, encoded.
 */
export function mutualRoomsBatch(rooms: readonly string[], from: string | undefined, batchSize: number = MUTUAL_ROOMS_BATCH): JsonObject {
  const sorted = [...rooms].sort();
  let start = 0;
  if (from !== undefined) {
    const after = Buffer.from(from, "base64url").toString("utf8");
    // mutual_rooms.yaml 400: "The `from` token provided was invalid or expired".
    if (!after.startsWith("!") || Buffer.from(after, "utf8").toString("base64url") !== from) throw new MatrixError("M_INVALID_PARAM", "Unknown from token", 400);
    while (start < sorted.length && (sorted[start] as string) <= after) start++;
  }
  const joined = sorted.slice(start, start + batchSize);
  const out: JsonObject = { joined, count: sorted.length };
  if (start + batchSize < sorted.length) out["next_batch"] = Buffer.from(joined.at(-1) as string, "utf8").toString("base64url");
  return out;
}

export function mutualRoomsEndpoints(membership: MembershipService): Endpoint[] {
  const mutualRooms: Endpoint = {
    name: "client.mutual_rooms",
    method: "GET",
    paths: clientPaths("/mutual_rooms", { versions: ["v1"], r0: false }),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const { userId } = requesterOf(req);
      const other = queryParam(req, "user_id");
      if (other === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing user_id", 400);
      // mutual_rooms.yaml 400: a user ID that is not one, or the requester's own.
      if (parseUserId(other) === undefined) throw new MatrixError("M_INVALID_PARAM", "The user ID provided was invalid", 400);
      if (other === userId) throw new MatrixError("M_INVALID_PARAM", "user_id is your own user ID", 400);
      // A user who does not exist is joined to nothing: the list is empty, as the spec asks.
      const [mine, theirs] = await Promise.all([membership.joinedRooms(userId), membership.joinedRooms(other)]);
      const shared = new Set(theirs);
      return mutualRoomsBatch(mine.filter((roomId) => shared.has(roomId)), queryParam(req, "from"));
    },
  };
  return [mutualRooms];
}
