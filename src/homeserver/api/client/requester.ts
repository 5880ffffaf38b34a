// Who is asking, for handlers of endpoints that take an access token.
import { MatrixError } from "../../../core/errors.ts";
import type { MatrixRequest, Requester } from "../../../http/endpoint.ts";

/** The requester of an endpoint with `auth: "accessToken"` (the HTTP layer has checked the token). */
export function requesterOf(req: MatrixRequest): Requester {
  if (req.requester === undefined) throw new MatrixError("M_MISSING_TOKEN", "Missing access token", 401);
  return req.requester;
}

/**
 * The requester, who must not be a guest: modules/guest_access.md lists the few endpoints guests
 * may use, and this endpoint is not one of them.
 */
export function nonGuestRequesterOf(req: MatrixRequest): Requester {
  const requester = requesterOf(req);
  if (requester.isGuest) throw new MatrixError("M_GUEST_ACCESS_FORBIDDEN", "Guest access is not allowed for this endpoint", 403);
  return requester;
}

/** A single-valued query parameter. */
export function queryParam(req: MatrixRequest, name: string): string | undefined {
  const value = req.query[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A repeatable query parameter's values, in order (none when absent). */
export function queryList(req: MatrixRequest, name: string): string[] {
  const value = req.query[name];
  return value === undefined ? [] : Array.isArray(value) ? [...value] : [value];
}
