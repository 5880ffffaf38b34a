/**
 * Helpers for the 3PID tests: a homeserver that mails through the SMTP stand-in, and the steps of
 * validating an email address as a client and its user go through them (request a token, read the
 * mail, submit the token).
 */
import assert from "node:assert/strict";
import type { Engine } from "../../../src/storage/engine.ts";
import { startSmtpStandIn, type ReceivedMail, type SmtpStandIn } from "../../mail/smtp-stand-in.ts";
import { ACCOUNTS_YAML, call, type Reply } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";

export const PUBLIC_BASEURL = "https://matrix.test.local/";

/** The email section for the stand-in, with rate limits a test suite does not reach. */
export function emailYaml(smtp: SmtpStandIn, extra: readonly string[] = [], accountsYaml = ACCOUNTS_YAML): string {
  return [
    accountsYaml,
    `public_baseurl: ${PUBLIC_BASEURL}`,
    "rc_3pid_validation: {per_second: 1000, burst_count: 1000}",
    "email:",
    "  smtp_host: 127.0.0.1",
    `  smtp_port: ${smtp.port}`,
    "  notif_from: 'Weft test <noreply@test.local>'",
    "  app_name: WeftTest",
    ...extra.map((line) => `  ${line}`),
  ].join("\n");
}

export interface MailingHomeserver {
  readonly hs: TestHomeserver;
  readonly smtp: SmtpStandIn;
  stop(): Promise<void>;
}

/** A homeserver with an `email` section (plus `emailKeys` in it) and top-level `yaml`, and its mail server. */
export async function startMailingHomeserver(
  engine: Engine,
  /** `accountsYaml` replaces the registration and rate-limit keys of ACCOUNTS_YAML. */
  options: { emailKeys?: readonly string[]; yaml?: string; accountsYaml?: string } = {},
): Promise<MailingHomeserver> {
  const smtp = await startSmtpStandIn();
  const hs = await startTestHomeserver(engine, { yaml: `${emailYaml(smtp, options.emailKeys, options.accountsYaml)}\n${options.yaml ?? ""}` });
  return {
    hs,
    smtp,
    stop: async () => {
      await hs.stop();
      await smtp.close();
    },
  };
}

export type Purpose = "register" | "account/password" | "account/3pid";

export interface MailedToken {
  readonly sid: string;
  readonly clientSecret: string;
  readonly token: string;
  /** The link in the mail, as a path on the test server (its host is public_baseurl's). */
  readonly linkPath: string;
  /** submit_url, as a path on the test server. */
  readonly submitPath: string;
  readonly mail: ReceivedMail;
}

export function requestToken(hs: TestHomeserver, purpose: Purpose, body: Record<string, unknown>): Promise<Reply> {
  return call(hs, "POST", `/_matrix/client/v3/${purpose}/email/requestToken`, { body });
}

/** Asks for a token for `email` and reads it from the mail the stand-in received. */
export async function mailedToken(m: MailingHomeserver, purpose: Purpose, email: string, extra: Record<string, unknown> = {}): Promise<MailedToken> {
  const clientSecret = `secret-${Math.random().toString(36).slice(2)}`;
  const reply = await requestToken(m.hs, purpose, { client_secret: clientSecret, email, send_attempt: 1, ...extra });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const sid = reply.body["sid"] as string;
  assert.match(sid, /^[0-9a-zA-Z.=_-]{1,255}$/);
  const submitUrl = new URL(reply.body["submit_url"] as string);
  assert.ok(submitUrl.href.startsWith(PUBLIC_BASEURL), submitUrl.href);
  // The mail goes to the address as written; the stand-in's SMTP server lower-cases its domain.
  const at = email.lastIndexOf("@");
  const mail = await m.smtp.next(`${email.slice(0, at)}${email.slice(at).toLowerCase()}`);
  const token = /code in your client: (\S+)/.exec(mail.text)?.[1];
  const link = /open this link: (\S+)/.exec(mail.text)?.[1];
  assert.ok(token !== undefined && link !== undefined, mail.text);
  const linkUrl = new URL(link);
  assert.equal(linkUrl.searchParams.get("sid"), sid);
  assert.equal(linkUrl.searchParams.get("client_secret"), clientSecret);
  assert.equal(linkUrl.searchParams.get("token"), token);
  return { sid, clientSecret, token, linkPath: `${linkUrl.pathname}${linkUrl.search}`, submitPath: submitUrl.pathname, mail };
}

/** POSTs the token to submit_url, as a client does. */
export function submitToken(hs: TestHomeserver, mailed: MailedToken, overrides: Record<string, unknown> = {}): Promise<Reply> {
  return call(hs, "POST", mailed.submitPath, { body: { sid: mailed.sid, client_secret: mailed.clientSecret, token: mailed.token, ...overrides } });
}

/** A validated session for `email`: requested, mailed, submitted. */
export async function validatedEmail(m: MailingHomeserver, purpose: Purpose, email: string): Promise<MailedToken> {
  const mailed = await mailedToken(m, purpose, email);
  const submitted = await submitToken(m.hs, mailed);
  assert.deepEqual(submitted, { status: 200, body: { success: true } });
  return mailed;
}

export function threepidCreds(mailed: MailedToken): Record<string, unknown> {
  return { sid: mailed.sid, client_secret: mailed.clientSecret };
}
