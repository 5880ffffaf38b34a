// What Synapse's admin APIs read alike: a page's limit, optional filters, flags, and the user of
// this server a request is about.
import { MatrixError } from "../../../core/errors.ts";
import { parseUserId, serverNameOf } from "../../../core/identifiers/index.ts";
import type { MatrixRequest } from "../../../http/endpoint.ts";
import { limitParam, pathParam } from "../client/event-params.ts";
import { queryParam } from "../client/requester.ts";

/** Synapse's default page size. */
const DEFAULT_LIMIT = 100;
/** The largest page served: a page is read and answered whole. */
const MAX_LIMIT = 1000;

/** A page's `limit`: Synapse's default of 100, at most 1,000. */
export function adminPageLimit(req: MatrixRequest): number {
  const limit = limitParam(req, DEFAULT_LIMIT, MAX_LIMIT);
  // A page of none would never move the next page's token on: refused rather than paged forever.
  if (limit === 0) throw new MatrixError("M_INVALID_PARAM", "limit must be a positive integer", 400);
  return limit;
}

/** The `order_by` asked for, one of `known` (a set of them, or a map keyed by them); `fallback` when absent. */
export function orderParam<N extends string>(req: MatrixRequest, known: { has(name: string): boolean }, fallback: N): N {
  const name = queryParam(req, "order_by") ?? fallback;
  if (!known.has(name)) throw new MatrixError("M_INVALID_PARAM", `Unknown order_by: ${name}`, 400);
  return name as N;
}

/** The query parameter `name` under `key`, or nothing when it is absent or empty. */
export function optionalFilter<K extends string>(req: MatrixRequest, name: string, key: K): Partial<Record<K, string>> {
  const value = queryParam(req, name);
  return value === undefined || value === "" ? {} : ({ [key]: value } as Record<K, string>);
}

/** A query parameter that is `true` or `false`; undefined when absent. */
export function booleanParam(req: MatrixRequest, name: string): boolean | undefined {
  const text = queryParam(req, name);
  if (text === undefined || text === "") return undefined;
  if (text !== "true" && text !== "false") throw new MatrixError("M_INVALID_PARAM", `${name} must be true or false`, 400);
  return text === "true";
}

/** `userId` when it is a user ID of this server (historical grammar allowed); 400 M_INVALID_PARAM otherwise. */
export function localUserIdOf(userId: string, serverName: string): string {
  if (parseUserId(userId, { historical: true }) === undefined || serverNameOf(userId) !== serverName) {
    throw new MatrixError("M_INVALID_PARAM", "Can only manage local users", 400);
  }
  return userId;
}

/** The path's `userId`, which must be a user of this server. */
export function localUserIdParam(req: MatrixRequest, serverName: string): string {
  return localUserIdOf(pathParam(req, "userId"), serverName);
}
