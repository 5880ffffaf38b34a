// What every admin endpoint checks first: that the requester is a server admin (403 M_FORBIDDEN
// otherwise), before it looks anything up (admin.yaml: "authorisation is checked prior to trying to
// do account lookups", so that no user can be found out by asking).
import { MatrixError } from "../../../core/errors.ts";
import type { MatrixRequest } from "../../../http/endpoint.ts";

export type IsAdmin = (userId: string) => Promise<boolean>;

export async function requireAdmin(req: MatrixRequest, isAdmin: IsAdmin): Promise<void> {
  if (req.requester === undefined || !(await isAdmin(req.requester.userId))) {
    throw new MatrixError("M_FORBIDDEN", "You are not a server admin", 403);
  }
}
