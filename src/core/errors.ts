// The error codes of the Matrix APIs (client-server-api#standard-error-response and the
// per-endpoint codes of the spec), as one closed union.
export type MatrixErrorCode =
  | "M_FORBIDDEN"
  | "M_UNKNOWN_TOKEN"
  | "M_MISSING_TOKEN"
  | "M_USER_LOCKED"
  | "M_USER_SUSPENDED"
  | "M_BAD_JSON"
  | "M_NOT_JSON"
  | "M_NOT_FOUND"
  | "M_LIMIT_EXCEEDED"
  | "M_UNRECOGNIZED"
  | "M_UNKNOWN"
  | "M_UNAUTHORIZED"
  | "M_USER_DEACTIVATED"
  | "M_USER_IN_USE"
  | "M_INVALID_USERNAME"
  | "M_ROOM_IN_USE"
  | "M_INVALID_ROOM_STATE"
  | "M_INVITE_BLOCKED"
  | "M_THREEPID_IN_USE"
  | "M_THREEPID_NOT_FOUND"
  | "M_THREEPID_AUTH_FAILED"
  | "M_THREEPID_DENIED"
  | "M_THREEPID_MEDIUM_NOT_SUPPORTED"
  | "M_SERVER_NOT_TRUSTED"
  | "M_UNSUPPORTED_ROOM_VERSION"
  | "M_INCOMPATIBLE_ROOM_VERSION"
  | "M_BAD_STATE"
  | "M_GUEST_ACCESS_FORBIDDEN"
  | "M_CAPTCHA_NEEDED"
  | "M_CAPTCHA_INVALID"
  | "M_MISSING_PARAM"
  | "M_INVALID_PARAM"
  | "M_TOO_LARGE"
  | "M_EXCLUSIVE"
  | "M_RESOURCE_LIMIT_EXCEEDED"
  | "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM"
  | "M_WEAK_PASSWORD"
  | "M_WRONG_ROOM_KEYS_VERSION"
  | "M_UNABLE_TO_AUTHORISE_JOIN"
  | "M_UNABLE_TO_GRANT_JOIN"
  | "M_NOT_YET_UPLOADED"
  | "M_CANNOT_OVERWRITE_MEDIA"
  | "M_INVALID_SIGNATURE"
  | "M_KEY_NOT_FOUND"
  | "M_DUPLICATE_ANNOTATION"
  | "M_CONNECTION_FAILED"
  | "M_CONNECTION_TIMEOUT"
  | "M_UNKNOWN_POS"
  | "M_URL_NOT_SET"
  | "M_UNACTIONABLE"
  | "M_NOT_JOINED"
  | "M_EXPIRED_ACCOUNT"
  | "M_SESSION_NOT_VALIDATED"
  | "M_NO_VALID_SESSION"
  | "M_INVALID_PEPPER"
  | "M_TERMS_NOT_SIGNED"
  | "M_INVALID_EMAIL"
  | "M_EMAIL_SEND_ERROR"
  | "M_INVALID_ADDRESS"
  | "M_SEND_ERROR"
  | "M_MEDIA_TOO_LARGE"
  | "M_PROFILE_TOO_LARGE"
  | "M_KEY_TOO_LARGE"
  | "M_BAD_ALIAS"
  // identity-service-api#standard-error-response and its endpoints' own codes.
  | "M_MISSING_PARAMS"
  | "M_SESSION_EXPIRED"
  | "M_TOKEN_INCORRECT"
  | "M_DESTINATION_REJECTED"
  // application-service-api: appservice_ping.yaml, #identity-assertion.
  | "M_BAD_STATUS"
  | "M_UNKNOWN_DEVICE";

/** A Matrix error: errcode, human-readable message, HTTP status and any extra body fields. */
export class MatrixError extends Error {
  readonly errcode: MatrixErrorCode;
  readonly status: number;
  readonly extra: Record<string, unknown>;

  constructor(errcode: MatrixErrorCode, message: string, status = 400, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = "MatrixError";
    this.errcode = errcode;
    this.status = status;
    this.extra = extra;
  }

  /** The response body the spec defines: `{errcode, error, ...extra}`. */
  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

/**
 * client-server-api#account-locking: what every API but the logouts answers a locked account, "a
 * 401 Unauthorized error response with an M_USER_LOCKED error code and soft_logout set to true".
 */
export function accountLockedError(): MatrixError {
  return new MatrixError("M_USER_LOCKED", "This account has been locked", 401, { soft_logout: true });
}

/** client-server-api#account-suspension: "a 403 Forbidden error response with M_USER_SUSPENDED". */
export function accountSuspendedError(): MatrixError {
  return new MatrixError("M_USER_SUSPENDED", "You cannot perform this action while suspended", 403);
}
