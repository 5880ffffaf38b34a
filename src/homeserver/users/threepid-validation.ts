// The homeserver validating email addresses itself (client-server-api#adding-account-administrative-contact-information:
// "The homeserver should validate the email itself, either by sending a validation email itself or
// by using a service it has control over"): /requestToken mails a token and a link; the token is
// submitted at `submit_url` (or the link opened), which marks the session validated; a validated
// session then proves the address to /account/3pid/add and to the m.login.email.identity UIA stage.
import { timingSafeEqual } from "node:crypto";
import { MatrixError } from "../../core/errors.ts";
import { isClientSecret, isHttpUrl, parseEmailAddress, randomAlphanumeric } from "../../core/identifiers/threepid.ts";
import type { HomeserverEmailConfig } from "../../config/types.ts";
import { escapeHtml } from "../../http/html-page.ts";
import { MailError, type MailSender } from "../../mail/mailer.ts";
import type { ThreepidStore, ValidationSession } from "../../storage/stores/threepids.ts";
import type { ThreepidRules } from "./threepid-rules.ts";
import type { ValidatedThreepid } from "./uia.ts";

/** Why an address is being validated: each purpose has its own check on the address. */
export type ValidationPurpose = "registration" | "password_reset" | "add_threepid";

/** Where clients POST the token, and the link in the mail GETs (Weft's own path: the spec leaves it to the server). */
export const SUBMIT_TOKEN_PATH = "/_matrix/client/unstable/org.weft/email/submit_token";

/** request_email_validation.yaml client_secret: `[0-9a-zA-Z.=_-]`, 1 to 255 characters. */

export interface RequestTokenBody {
  readonly client_secret: string;
  readonly email: string;
  readonly send_attempt: number;
  readonly next_link?: string;
}

export interface ThreepidValidationOptions {
  readonly store: ThreepidStore;
  readonly rules: ThreepidRules;
  /** The `email` section; undefined: the server validates no email addresses. */
  readonly email: HomeserverEmailConfig | undefined;
  readonly mailer: MailSender | undefined;
  /** `public_baseurl`, with its trailing slash: where the links in mails point. */
  readonly publicBaseurl: string;
  /** The user an address belongs to, if any (the checks of register/add and of password reset). */
  readonly ownerOf: (medium: "email", address: string) => Promise<string | undefined>;
  readonly now?: () => number;
}

export class ThreepidValidation {
  readonly #options: ThreepidValidationOptions;
  readonly #now: () => number;

  constructor(options: ThreepidValidationOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Whether this server validates email addresses (an `email` section that can send). */
  get canValidateEmail(): boolean {
    return this.#options.email !== undefined && this.#options.mailer !== undefined;
  }

  get submitUrl(): string {
    return `${this.#options.publicBaseurl.replace(/\/$/, "")}${SUBMIT_TOKEN_PATH}`;
  }

  /** The page the validation link leads back to, `email.client_base_url`. */
  get clientBaseUrl(): string | undefined {
    return this.#options.email?.clientBaseUrl;
  }

  /**
   * POST .../email/requestToken: checks the address for `purpose`, then mails a token, unless this
   * send_attempt was already seen for the address and client_secret (request_email_validation.yaml:
   * "the server should respond with success but not resend the email").
   */
  async requestEmailToken(purpose: ValidationPurpose, body: RequestTokenBody): Promise<{ sid: string; submit_url: string }> {
    const { email, mailer, store, rules } = this.#options;
    if (email === undefined || mailer === undefined) {
      // administrative_contact.yaml: "M_THREEPID_MEDIUM_NOT_SUPPORTED: The homeserver does not support adding email addresses."
      throw new MatrixError("M_THREEPID_MEDIUM_NOT_SUPPORTED", "This server does not validate email addresses", 400);
    }
    if (!isClientSecret(body.client_secret)) throw new MatrixError("M_INVALID_PARAM", "client_secret must be 1 to 255 of [0-9a-zA-Z.=_-]", 400);
    // The mail goes to the address as written; the account and the checks take its canonical form.
    const trimmed = body.email.trim();
    const address = parseEmailAddress(trimmed);
    if (address === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid email address", 400);
    if (body.next_link !== undefined && !isHttpUrl(body.next_link)) throw new MatrixError("M_INVALID_PARAM", "next_link must be an http or https URL", 400);
    if (!rules.isAllowed("email", address)) throw new MatrixError("M_THREEPID_DENIED", "Third-party identifier is not allowed on this server", 403);
    const owner = await this.#options.ownerOf("email", address);
    // registration.yaml and administrative_contact.yaml: "already associated with an account";
    // password_management.yaml: the address must be, else M_THREEPID_NOT_FOUND.
    if (purpose === "password_reset" && owner === undefined) throw new MatrixError("M_THREEPID_NOT_FOUND", "No account has this email address", 400);
    if (purpose !== "password_reset" && owner !== undefined) throw new MatrixError("M_THREEPID_IN_USE", "This email address is already in use", 400);

    const now = this.#now();
    await store.deleteExpiredSessions(now);
    const existing = await store.sessionFor("email", address, body.client_secret, now);
    if (existing !== undefined && body.send_attempt <= existing.send_attempt) return { sid: existing.session_id, submit_url: this.submitUrl };

    const token = randomAlphanumeric(32);
    const sid = existing?.session_id ?? randomAlphanumeric(24);
    const expiresTs = now + email.validationTokenLifetimeMs;
    await this.#mail(purpose, trimmed, { sid, clientSecret: body.client_secret, token });
    if (existing !== undefined) {
      await store.resend(sid, { token, sendAttempt: body.send_attempt, nextLink: body.next_link ?? null, now, expiresTs });
    } else {
      await store.createSession({
        session_id: sid,
        medium: "email",
        address,
        client_secret: body.client_secret,
        token,
        send_attempt: body.send_attempt,
        next_link: body.next_link ?? null,
        validated_at: null,
        last_send_attempt_ts: now,
        created_ts: now,
        expires_ts: expiresTs,
      });
    }
    return { sid, submit_url: this.submitUrl };
  }

  /**
   * The submit URL (the identity service's POST /validate/email/submitToken, as request_token_response.yaml
   * says): the session is validated, or M_INVALID_PARAM / M_SESSION_EXPIRED / M_TOKEN_INCORRECT.
   * Answers the session's next_link, for the GET form to redirect to.
   */
  async submitToken(sid: string, clientSecret: string, token: string): Promise<{ nextLink: string | undefined }> {
    const session = await this.#options.store.session(sid);
    if (session === undefined || !sameSecret(session.client_secret, clientSecret)) throw new MatrixError("M_INVALID_PARAM", "Unknown validation session, or another client_secret", 400);
    if (session.expires_ts <= this.#now()) throw new MatrixError("M_SESSION_EXPIRED", "This validation session has expired: ask for a new token", 400);
    if (!sameSecret(session.token, token)) throw new MatrixError("M_TOKEN_INCORRECT", "The token is incorrect", 400);
    await this.#options.store.markValidated(sid, this.#now());
    return { nextLink: session.next_link ?? undefined };
  }

  /** The address a validated, unexpired session proves, given its sid and client_secret; else undefined. */
  async validated(sid: string, clientSecret: string): Promise<ValidatedThreepid | undefined> {
    const session: ValidationSession | undefined = await this.#options.store.session(sid);
    if (session === undefined || session.medium !== "email" || !sameSecret(session.client_secret, clientSecret)) return undefined;
    if (session.validated_at === null || session.expires_ts <= this.#now()) return undefined;
    return { medium: "email", address: session.address, validatedAt: Number(session.validated_at), sid };
  }

  /** A session that has served its purpose (an address added, an account registered, a password reset) is spent. */
  async consume(sid: string): Promise<void> {
    await this.#options.store.deleteSession(sid);
  }

  async #mail(purpose: ValidationPurpose, to: string, link: { sid: string; clientSecret: string; token: string }): Promise<void> {
    const { email, mailer } = this.#options;
    if (email === undefined || mailer === undefined) return;
    const query = new URLSearchParams({ sid: link.sid, client_secret: link.clientSecret, token: link.token });
    const url = `${this.submitUrl}?${query.toString()}`;
    const what = purpose === "password_reset" ? `reset the password of your ${email.appName} account` : purpose === "registration" ? `register a ${email.appName} account with this address` : `add this address to your ${email.appName} account`;
    const subject = purpose === "password_reset" ? `[${email.appName}] Password reset` : `[${email.appName}] Validate your email`;
    const text = [
      `Someone asked to ${what}.`,
      "",
      `To confirm, open this link: ${url}`,
      "",
      `or enter this code in your client: ${link.token}`,
      "",
      "If it was not you, ignore this mail: nothing changes without the link or the code.",
    ].join("\n");
    const html = `<p>Someone asked to ${escapeHtml(what)}.</p><p><a href="${escapeHtml(url)}">Confirm</a></p><p>Or enter this code in your client: <code>${escapeHtml(link.token)}</code></p><p>If it was not you, ignore this mail: nothing changes without the link or the code.</p>`;
    try {
      await mailer.send({ to, subject, text, html });
    } catch (err) {
      if (err instanceof MailError) throw new MatrixError("M_UNKNOWN", "The validation mail could not be sent", 500);
      throw err;
    }
  }
}

function sameSecret(stored: string, given: string): boolean {
  const a = Buffer.from(stored);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

