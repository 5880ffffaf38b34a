import { MatrixError } from "../core/errors.ts";

/** The spec's error body and status for anything thrown by a handler or by the framework. */
export function toMatrixError(error: unknown): MatrixError {
  if (error instanceof MatrixError) return error;
  const e = error as { code?: string; statusCode?: number; message?: string } | undefined;
  switch (e?.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new MatrixError("M_TOO_LARGE", "Request body is too large", 413);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new MatrixError("M_NOT_JSON", "Content not JSON", 400);
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new MatrixError("M_UNKNOWN", "Invalid Content-Length", 400);
    default:
      break;
  }
  // Errors the HTTP parser raises for a malformed request are the client's, not ours.
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new MatrixError("M_UNKNOWN", e.message ?? "Bad request", e.statusCode);
  }
  return new MatrixError("M_UNKNOWN", "Internal server error", 500);
}
