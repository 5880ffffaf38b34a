// identity-service-api#establishing-associations: validation sessions, by email
// (v2_email_associations.yaml) and by SMS (v2_phone_associations.yaml), and the check of a
// validated session that /3pid/getValidated3pid, /3pid/bind and /3pid/unbind make.
import { randomInt } from "node:crypto";
import { MatrixError } from "../core/errors.ts";
import { htmlPage } from "../http/html-page.ts";
import { HttpReply } from "../http/endpoint.ts";
import { RateLimiter } from "../http/rate-limit.ts";
import type { MailSender } from "../mail/mailer.ts";
import type { IdentityServiceConfig } from "./config.ts";
import { type AnyIdentityEndpoint, checkClientSecret, type IdentityEndpoint, type IdentityRequest, identityPath, invalidParam, queryParam } from "./http.ts";
import { validationMail, validationSms } from "./messages.ts";
import type { SmsSender } from "./sms.ts";
import type { IdentityStore, SessionRow } from "./store.ts";
import { isHttpUrl, parseEmailAddress, randomAlphanumeric, type ThreepidMedium } from "../core/identifiers/threepid.ts";
import { canonicalMsisdn } from "./threepid.ts";

/**
 * identity-service-api#format-of-a-validation-token: "choose one appropriate to the 3PID type". A
 * mail carries a link, so its token may be long; an SMS token is typed in, so it is six digits.
 */
function newToken(medium: ThreepidMedium): string {
  return medium === "email" ? randomAlphanumeric(32) : String(randomInt(1_000_000)).padStart(6, "0");
}

export interface ValidationDeps {
  readonly store: IdentityStore;
  readonly config: IdentityServiceConfig;
  readonly now: () => number;
}

export class Validation {
  readonly #ipLimiter: RateLimiter;
  readonly #threepidLimiter: RateLimiter;
  /** Wrong tokens given per session: a texted code has six digits, so guessing must end quickly. */
  readonly #wrongTokens = new Map<string, number>();

  constructor(private readonly deps: ValidationDeps) {
    // Wall-clock time, not the sessions' clock: a limit is about how fast requests come now.
    this.#ipLimiter = new RateLimiter(deps.config.requestTokenRateLimits.ip);
    this.#threepidLimiter = new RateLimiter(deps.config.requestTokenRateLimits.threepid);
  }

  /** identity-service-api: a session lives "within a 24-hour period since its most recent modification". */
  expired(session: SessionRow): boolean {
    return this.deps.now() > session.modified_ts + this.deps.config.validationSessionLifetimeMs;
  }

  /**
   * A session for the 3PID, sending the token unless this `send_attempt` was seen already ("the
   * server should respond with success but not resend"). An expired session is replaced.
   */
  async requestToken(
    medium: ThreepidMedium,
    address: string,
    request: { clientSecret: string; sendAttempt: number; nextLink: string | undefined; ip: string },
    send: (session: SessionRow) => Promise<void>,
  ): Promise<{ sid: string }> {
    limit(this.#ipLimiter, request.ip);
    const existing = await this.deps.store.sessionOf(medium, address, request.clientSecret);
    if (existing !== undefined && !this.expired(existing)) {
      if (request.sendAttempt <= existing.send_attempt) return { sid: existing.sid };
      limit(this.#threepidLimiter, `${medium} ${address}`);
      const nextLink = request.nextLink ?? existing.next_link;
      await this.deps.store.setSendAttempt(existing.sid, request.sendAttempt, nextLink);
      try {
        await send({ ...existing, send_attempt: request.sendAttempt, next_link: nextLink });
      } catch (err) {
        // Not sent: the same attempt may be asked again.
        await this.deps.store.setSendAttempt(existing.sid, existing.send_attempt, existing.next_link);
        throw err;
      }
      return { sid: existing.sid };
    }
    limit(this.#threepidLimiter, `${medium} ${address}`);
    const session: SessionRow = {
      sid: randomAlphanumeric(24),
      medium,
      address,
      client_secret: request.clientSecret,
      token: newToken(medium),
      send_attempt: request.sendAttempt,
      next_link: request.nextLink ?? null,
      modified_ts: this.deps.now(),
      validated_ts: null,
    };
    await this.deps.store.createSession(session);
    try {
      await send(session);
    } catch (err) {
      await this.deps.store.deleteSession(session.sid);
      throw err;
    }
    return { sid: session.sid };
  }

  /** submitToken: validates the session when the token is its own. */
  async submitToken(medium: ThreepidMedium, sid: string, clientSecret: string, token: string): Promise<SessionRow> {
    const session = await this.deps.store.sessionBySid(sid);
    if (session === undefined || session.client_secret !== clientSecret || session.medium !== medium) throw noValidSession();
    // v2_email_associations.yaml submitToken 400s: M_SESSION_EXPIRED, M_TOKEN_INCORRECT (both added in v1.18).
    if (this.expired(session)) throw sessionExpired();
    if (session.token !== token) {
      const wrong = (this.#wrongTokens.get(sid) ?? 0) + 1;
      // Past MAX_WRONG_TOKENS the session is gone: the user asks for a new token, which the requestToken limits pace.
      if (wrong >= MAX_WRONG_TOKENS) {
        this.#wrongTokens.delete(sid);
        await this.deps.store.deleteSession(sid);
      } else {
        this.#wrongTokens.set(sid, wrong);
      }
      throw new MatrixError("M_TOKEN_INCORRECT", "The token is incorrect", 400);
    }
    this.#wrongTokens.delete(sid);
    if (session.validated_ts !== null) return session;
    const now = this.deps.now();
    await this.deps.store.markValidated(sid, now);
    return { ...session, validated_ts: now, modified_ts: now };
  }

  /** The session of `sid` and `clientSecret`, validated and not expired (v2_associations.yaml's 400s and 404). */
  async validatedSession(sid: string, clientSecret: string): Promise<SessionRow & { validated_ts: number }> {
    const session = await this.deps.store.sessionBySid(sid);
    if (session === undefined || session.client_secret !== clientSecret) throw noValidSession();
    if (this.expired(session)) throw sessionExpired();
    if (session.validated_ts === null) throw new MatrixError("M_SESSION_NOT_VALIDATED", "This validation session has not yet been completed", 400);
    return session as SessionRow & { validated_ts: number };
  }
}

/** Wrong tokens a validation session takes before it is deleted. */
export const MAX_WRONG_TOKENS = 10;

function limit(limiter: RateLimiter, key: string): void {
  const decision = limiter.take(key);
  if (!decision.allowed) throw new MatrixError("M_LIMIT_EXCEEDED", "Too many requests", 429, { retry_after_ms: decision.retryAfterMs });
}

function noValidSession(): MatrixError {
  return new MatrixError("M_NO_VALID_SESSION", "No valid session was found matching that sid and client secret", 404);
}

function sessionExpired(): MatrixError {
  return new MatrixError("M_SESSION_EXPIRED", "This validation session has expired: start a new one", 400);
}

/** request_*_validation.yaml `next_link`: a URL (format uri) the user's browser is sent to, so http(s) only. */
function checkNextLink(nextLink: string | undefined): string | undefined {
  if (nextLink !== undefined && !isHttpUrl(nextLink)) throw invalidParam("next_link must be an http or https URL");
  return nextLink;
}

// An integer; matrix-js-sdk (Element) sends it as a string of digits, which is taken as the same number.
const SEND_ATTEMPT = { anyOf: [{ type: "integer", minimum: 0 }, { type: "string", pattern: "^[0-9]{1,15}$" }] };

function sendAttemptOf(value: number | string): number {
  return typeof value === "number" ? value : Number(value);
}

interface EmailRequestTokenBody {
  client_secret: string;
  email: string;
  send_attempt: number | string;
  next_link?: string;
}

interface MsisdnRequestTokenBody {
  client_secret: string;
  country: string;
  phone_number: string;
  send_attempt: number | string;
  next_link?: string;
}

interface SubmitTokenBody {
  sid: string;
  client_secret: string;
  token: string;
}

const SUBMIT_TOKEN_SCHEMA = {
  type: "object",
  properties: { sid: { type: "string" }, client_secret: { type: "string" }, token: { type: "string" } },
  required: ["sid", "client_secret", "token"],
};

/** The two submitToken endpoints of a medium: POST for clients, GET for the user's browser. */
function submitTokenEndpoints(validation: Validation, medium: ThreepidMedium): AnyIdentityEndpoint[] {
  const post: IdentityEndpoint<SubmitTokenBody> = {
    name: `validate.${medium}.submit_token`,
    method: "POST",
    path: `/validate/${medium}/submitToken`,
    auth: "required",
    schema: SUBMIT_TOKEN_SCHEMA,
    handler: async (request) => {
      await validation.submitToken(medium, request.body.sid, request.body.client_secret, request.body.token);
      return { success: true };
    },
  };
  const get: IdentityEndpoint<undefined> = {
    name: `validate.${medium}.submit_token_link`,
    method: "GET",
    path: `/validate/${medium}/submitToken`,
    // The link of the validation mail is opened in a browser, which holds no access token: the
    // session's ID, client secret and token are the credentials. A token given is still checked.
    auth: "optional",
    handler: async (request) => await submitFromLink(validation, medium, request),
  };
  return [post, get];
}

/** GET submitToken: "the response should be human-readable"; 3XX to `next_link` when one was given. */
async function submitFromLink(validation: Validation, medium: ThreepidMedium, request: IdentityRequest<undefined>): Promise<HttpReply> {
  let session: SessionRow;
  try {
    const sid = queryParam(request, "sid");
    const clientSecret = queryParam(request, "client_secret");
    const token = queryParam(request, "token");
    if (sid === undefined || clientSecret === undefined || token === undefined) {
      throw new MatrixError("M_MISSING_PARAMS", "The link is missing its sid, client_secret or token", 400);
    }
    session = await validation.submitToken(medium, sid, clientSecret, token);
  } catch (err) {
    if (!(err instanceof MatrixError)) throw err;
    return htmlPage(err.status, "Validation failed", err.errcode === "M_SESSION_EXPIRED" ? "This link has expired: ask for a new one." : err.message);
  }
  if (session.next_link !== null) return HttpReply.raw(302, "", "text/plain; charset=utf-8", { location: session.next_link });
  return htmlPage(200, "Validated", medium === "email" ? "Your email address is confirmed: you may close this page." : "Your phone number is confirmed: you may close this page.");
}

export function emailValidationEndpoints(validation: Validation, mailer: MailSender, config: IdentityServiceConfig): AnyIdentityEndpoint[] {
  const appName = config.email?.appName ?? config.serverName;
  const requestToken: IdentityEndpoint<EmailRequestTokenBody> = {
    name: "validate.email.request_token",
    method: "POST",
    path: "/validate/email/requestToken",
    auth: "required",
    schema: {
      type: "object",
      properties: { client_secret: { type: "string" }, email: { type: "string" }, send_attempt: SEND_ATTEMPT, next_link: { type: "string" } },
      required: ["client_secret", "email", "send_attempt"],
    },
    handler: async (request) => {
      const { body } = request;
      checkClientSecret(body.client_secret);
      const email = parseEmailAddress(body.email);
      if (email === undefined) throw new MatrixError("M_INVALID_EMAIL", "The email address is not valid", 400);
      const nextLink = checkNextLink(body.next_link);
      return await validation.requestToken("email", email, { clientSecret: body.client_secret, sendAttempt: sendAttemptOf(body.send_attempt), nextLink, ip: request.ip }, async (session) => {
        const query = new URLSearchParams({ token: session.token, client_secret: session.client_secret, sid: session.sid });
        const link = `${config.publicBaseurl}${identityPath("/validate/email/submitToken")}?${query.toString()}`;
        try {
          await mailer.send(validationMail({ appName, to: email, token: session.token, link }));
        } catch (err) {
          request.log.warn({ err }, "identity service: a validation mail could not be sent");
          throw new MatrixError("M_EMAIL_SEND_ERROR", "The validation email could not be sent", 400);
        }
      });
    },
  };
  return [requestToken, ...submitTokenEndpoints(validation, "email")];
}

export function msisdnValidationEndpoints(validation: Validation, sms: SmsSender, config: IdentityServiceConfig): AnyIdentityEndpoint[] {
  const appName = config.email?.appName ?? config.serverName;
  const requestToken: IdentityEndpoint<MsisdnRequestTokenBody> = {
    name: "validate.msisdn.request_token",
    method: "POST",
    path: "/validate/msisdn/requestToken",
    auth: "required",
    schema: {
      type: "object",
      properties: {
        client_secret: { type: "string" },
        country: { type: "string" },
        phone_number: { type: "string" },
        send_attempt: SEND_ATTEMPT,
        next_link: { type: "string" },
      },
      required: ["client_secret", "country", "phone_number", "send_attempt"],
    },
    handler: async (request) => {
      const { body } = request;
      checkClientSecret(body.client_secret);
      const msisdn = canonicalMsisdn(body.phone_number, body.country);
      if (msisdn === undefined) throw new MatrixError("M_INVALID_ADDRESS", "The phone number is not valid", 400);
      const nextLink = checkNextLink(body.next_link);
      const result = await validation.requestToken("msisdn", msisdn, { clientSecret: body.client_secret, sendAttempt: sendAttemptOf(body.send_attempt), nextLink, ip: request.ip }, async (session) => {
        await sms.send(msisdn, validationSms(appName, session.token));
      });
      // Sydent and Synapse also answer the canonical number, which clients show the user.
      return { ...result, msisdn, intl_fmt: `+${msisdn}`, success: true };
    },
  };
  return [requestToken, ...submitTokenEndpoints(validation, "msisdn")];
}

/** GET /3pid/getValidated3pid (v2_associations.yaml). */
export function getValidated3pidEndpoint(validation: Validation): AnyIdentityEndpoint {
  const endpoint: IdentityEndpoint<undefined> = {
    name: "3pid.get_validated",
    method: "GET",
    path: "/3pid/getValidated3pid",
    auth: "required",
    schema: { type: "object", properties: { sid: { type: "string" }, client_secret: { type: "string" } }, required: ["sid", "client_secret"] },
    handler: async (request) => {
      const session = await validation.validatedSession(queryParam(request, "sid") as string, queryParam(request, "client_secret") as string);
      return { medium: session.medium, address: session.address, validated_at: session.validated_ts };
    },
  };
  return endpoint;
}
