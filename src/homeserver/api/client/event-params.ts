// Parsing the path and query parameters the room event endpoints share: room IDs, limits,
// directions, pagination tokens and RoomEventFilters. Errors are 400s naming the parameter.
import { MatrixError } from "../../../core/errors.ts";
import { parseRoomEventFilter, type RoomEventFilter } from "../../../core/filters/index.ts";
import { parseRoomId } from "../../../core/identifiers/index.ts";
import type { MatrixRequest } from "../../../http/endpoint.ts";
import { parsePaginationToken, type RoomPosition } from "../../sync/token.ts";
import { queryParam } from "./requester.ts";

export function roomIdParam(req: MatrixRequest): string {
  return validRoomId(req.params["roomId"] ?? "");
}

/** A room ID from the request, or 400 M_INVALID_PARAM. */
export function validRoomId(roomId: string): string {
  if (parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", `'${roomId}' is not a valid room ID`, 400);
  return roomId;
}

/** A path parameter; NUL is refused (no identifier, type or state key holds one, and PostgreSQL text cannot). */
export function pathParam(req: MatrixRequest, name: string): string {
  const value = req.params[name] ?? "";
  if (value.includes("\u0000")) throw new MatrixError("M_INVALID_PARAM", `${name} must not contain NUL`, 400);
  return value;
}

/** An integer query parameter of at least 0, capped; `fallback` when absent. */
export function limitParam(req: MatrixRequest, fallback: number, max: number, name = "limit"): number {
  const text = queryParam(req, name);
  if (text === undefined || text === "") return fallback;
  if (!/^[0-9]+$/.test(text)) throw new MatrixError("M_INVALID_PARAM", `${name} must be a non-negative integer`, 400);
  return Math.min(Number(text), max);
}

/** A long-poll's `timeout` in milliseconds; `fallback` when absent. */
export function timeoutParam(req: MatrixRequest, fallback: number): number {
  const value = queryParam(req, "timeout");
  if (value === undefined || value === "") return fallback;
  if (!/^[0-9]{1,15}$/.test(value)) throw new MatrixError("M_INVALID_PARAM", "timeout must be a non-negative integer", 400);
  return Number(value);
}

export function directionParam(req: MatrixRequest, fallback: "f" | "b"): "f" | "b" {
  const dir = queryParam(req, "dir");
  if (dir === undefined) return fallback;
  if (dir !== "f" && dir !== "b") throw new MatrixError("M_INVALID_PARAM", "dir must be 'f' or 'b'", 400);
  return dir;
}

/** A pagination (or sync) token given as `name`, and its text. */
export function tokenParam(req: MatrixRequest, name: string): { position: RoomPosition | undefined; token: string | undefined } {
  const token = queryParam(req, name);
  if (token === undefined || token === "") return { position: undefined, token: undefined };
  return { position: parsePaginationToken(token), token };
}

/** The `filter` query parameter: a RoomEventFilter as JSON (message_pagination.yaml, event_context.yaml). */
export function roomEventFilterParam(req: MatrixRequest): RoomEventFilter | undefined {
  const text = queryParam(req, "filter");
  if (text === undefined || text === "") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MatrixError("M_BAD_JSON", "filter is not valid JSON", 400);
  }
  return parseRoomEventFilter(json);
}

/** A boolean query parameter (`true`/`false`); undefined when absent. */
export function booleanParam(req: MatrixRequest, name: string): boolean | undefined {
  const text = queryParam(req, name);
  if (text === undefined) return undefined;
  if (text !== "true" && text !== "false") throw new MatrixError("M_INVALID_PARAM", `${name} must be 'true' or 'false'`, 400);
  return text === "true";
}
