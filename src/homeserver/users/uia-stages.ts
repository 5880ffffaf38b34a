// The UIA stages Weft offers (client-server-api#authentication-types): m.login.password,
// m.login.dummy, m.login.registration_token, m.login.email.identity and m.login.sso.
import { MatrixError } from "../../core/errors.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { PasswordAuthenticator } from "./password-auth.ts";
import type { StageFailure, UiaSession, UiaStage, ValidatedThreepid } from "./uia.ts";

export const PASSWORD_STAGE = "m.login.password";
export const DUMMY_STAGE = "m.login.dummy";
export const REGISTRATION_TOKEN_STAGE = "m.login.registration_token";
export const EMAIL_IDENTITY_STAGE = "m.login.email.identity";
export const SSO_STAGE = "m.login.sso";

/** client-server-api#dummy-auth: always succeeds. */
export const dummyStage: UiaStage = {
  type: DUMMY_STAGE,
  check: async () => undefined,
};

/**
 * client-server-api#password-based: the identifier must name the user the session is for (the one
 * whose access token made the request), and the password must be theirs.
 */
export function passwordStage(passwords: PasswordAuthenticator): UiaStage {
  const invalid: StageFailure = { errcode: "M_FORBIDDEN", error: "Invalid password" };
  return {
    type: PASSWORD_STAGE,
    async check(auth: JsonObject, session: UiaSession): Promise<StageFailure | undefined> {
      if (session.userId === undefined) return { errcode: "M_FORBIDDEN", error: "Password authentication needs a logged-in user" };
      const password = auth["password"];
      if (typeof password !== "string") return { errcode: "M_MISSING_PARAM", error: "Missing parameter: password" };
      const claimed = await passwords.claimedUserId({
        identifier: auth["identifier"],
        user: auth["user"],
        medium: auth["medium"],
        address: auth["address"],
      });
      // client-server-api#user-interactive-authentication-api: "fails for a reason other than
      // authentication": another account's identifier is no retryable attempt but a 403, given
      // before its password is looked at (so that no one can test another account's password here).
      if ((await passwords.resolveUserId(claimed)) !== session.userId) {
        throw new MatrixError("M_FORBIDDEN", "The identifier does not name the logged-in user", 403);
      }
      const user = await passwords.verify(claimed, password, { countAccount: false });
      return user?.userId === session.userId ? undefined : invalid;
    },
  };
}

/** What the registration-token stage needs of the registration tokens. */
export interface TokenReservations {
  /** Reserves one use of a valid token; false when it is unknown, expired or used up. */
  reserve(token: string): Promise<boolean>;
  release(token: string): Promise<void>;
}

/**
 * client-server-api#token-authenticated-registration: the token is checked and one of its uses
 * reserved (pending) for this session, until registration completes or the session is abandoned.
 */
export function registrationTokenStage(tokens: TokenReservations): UiaStage {
  return {
    type: REGISTRATION_TOKEN_STAGE,
    async check(auth: JsonObject, session: UiaSession): Promise<StageFailure | undefined> {
      const token = auth["token"];
      if (typeof token !== "string") return { errcode: "M_MISSING_PARAM", error: "Missing parameter: token" };
      if (!(await tokens.reserve(token))) return { errcode: "M_UNAUTHORIZED", error: "Invalid registration token" };
      // A concurrent attempt on the same session already holds a reservation: give this one back.
      if (session.registrationToken !== undefined) await tokens.release(token);
      else session.registrationToken = token;
      return undefined;
    },
  };
}

/** What the email stage asks of the homeserver's validation sessions (threepid-validation.ts). */
export interface ValidatedSessions {
  validated(sid: string, clientSecret: string): Promise<ValidatedThreepid | undefined>;
}

/**
 * client-server-api#email-based-identity--homeserver: `threepid_creds` name a session in which this
 * homeserver validated an email address (it handles validation itself, so `id_server` plays no
 * part). The address is kept on the UIA session for the request to use (the account registered
 * gets it; a password reset finds the account by it).
 */
export function emailIdentityStage(sessions: ValidatedSessions): UiaStage {
  return {
    type: EMAIL_IDENTITY_STAGE,
    async check(auth: JsonObject, session: UiaSession): Promise<StageFailure | undefined> {
      const creds = auth["threepid_creds"];
      if (!isJsonObject(creds)) return { errcode: "M_MISSING_PARAM", error: "Missing parameter: threepid_creds" };
      const sid = creds["sid"];
      const clientSecret = creds["client_secret"];
      if (typeof sid !== "string" || typeof clientSecret !== "string") return { errcode: "M_MISSING_PARAM", error: "threepid_creds needs sid and client_secret" };
      const validated = await sessions.validated(sid, clientSecret);
      // Not (yet) validated: a 401 the client may retry once the user opened the link, as Synapse answers.
      if (validated === undefined) return { errcode: "M_UNAUTHORIZED", error: "The email address has not been validated in this session" };
      session.threepid = validated;
      return undefined;
    },
  };
}

/**
 * m.login.sso (modules/sso_login.md#sso-during-user-interactive-authentication): done in a browser
 * at the fallback page, which completes it in the session (UserInteractiveAuth.completeOutOfBand);
 * the client then retries with the session alone. Sent as an auth dict, it has not been done yet.
 */
export const ssoStage: UiaStage = {
  type: SSO_STAGE,
  check: async () => ({
    errcode: "M_UNAUTHORIZED",
    error: `Authenticate with single sign-on in a browser, at /_matrix/client/v3/auth/${SSO_STAGE}/fallback/web?session=<session>`,
  }),
};
