// What every federation handler reads of a request: the authenticated origin and query values.
import { MatrixError } from "../../../core/errors.ts";
import type { MatrixRequest } from "../../../http/endpoint.ts";

/** The server that signed the request (the router verified its X-Matrix signature). */
export function originOf(req: MatrixRequest): string {
  if (req.origin === undefined) throw new MatrixError("M_UNAUTHORIZED", "Missing Authorization headers", 401);
  return req.origin;
}

/** Every value of a repeated query parameter. */
export function queryList(req: MatrixRequest, name: string): string[] {
  const value = req.query[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A query parameter the endpoint requires. */
export function requiredQuery(req: MatrixRequest, name: string): string {
  const value = req.query[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === "") throw new MatrixError("M_MISSING_PARAM", `Missing parameter: ${name}`, 400);
  return first;
}

/** An integer query parameter, or its default. */
export function integerQuery(req: MatrixRequest, name: string, fallback: number | undefined): number {
  const value = req.query[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) {
    if (fallback === undefined) throw new MatrixError("M_MISSING_PARAM", `Missing parameter: ${name}`, 400);
    return fallback;
  }
  const n = Number(first);
  if (!Number.isSafeInteger(n)) throw new MatrixError("M_INVALID_PARAM", `${name} must be an integer`, 400);
  return n;
}
