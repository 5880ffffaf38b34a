// The homeserver's 3PID keys, Synapse's: the `email` section with validation_token_lifetime and
// client_base_url, enable_3pid_changes, registrations_require_3pid and allowed_local_3pids.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfig } from "../../src/config/index.ts";

const parse = (extra: Record<string, unknown>) => parseConfig({ server_name: "example.org", ...extra }, { baseDir: "/" });
const SMTP = { smtp_host: "mail.example.org", notif_from: "%(app)s <noreply@example.org>" };

describe("the homeserver's 3PID configuration", () => {
  it("has Synapse's defaults: no email, 3PID changes on, nothing required, every address allowed", () => {
    const { config, warnings } = parse({});
    assert.equal(config.email, undefined);
    assert.equal(config.enable3pidChanges, true);
    assert.deepEqual(config.registrationsRequire3pid, []);
    assert.equal(config.allowedLocal3pids, undefined);
    assert.deepEqual(warnings, []);
  });

  it("reads the email section with the homeserver's keys, and warns of the ones it does not read", () => {
    const { config, warnings } = parse({
      email: { ...SMTP, smtp_port: 587, app_name: "Example", validation_token_lifetime: "15m", client_base_url: "https://app.example.org", enable_notifs: true },
    });
    assert.equal(config.email?.smtpHost, "mail.example.org");
    assert.equal(config.email?.smtpPort, 587);
    assert.equal(config.email?.from, "Example <noreply@example.org>");
    assert.equal(config.email?.appName, "Example");
    assert.equal(config.email?.validationTokenLifetimeMs, 15 * 60_000);
    assert.equal(config.email?.clientBaseUrl, "https://app.example.org");
    assert.deepEqual(warnings, ["unknown or not yet supported config key email.enable_notifs: ignored"]);
    assert.equal(parse({ email: SMTP }).config.email?.validationTokenLifetimeMs, 60 * 60_000, "one hour by default");
    assert.equal(parse({ email: { ...SMTP, validation_token_lifetime: 90_000 } }).config.email?.validationTokenLifetimeMs, 90_000);
  });

  it("has no email validation without smtp_host and notif_from, saying so", () => {
    const { config, warnings } = parse({ email: { smtp_host: "mail.example.org" } });
    assert.equal(config.email, undefined);
    assert.ok(warnings.some((w) => w.includes("without smtp_host and notif_from")));
  });

  it("refuses bad values, naming the key", () => {
    const bad = (extra: Record<string, unknown>, key: string) =>
      assert.throws(() => parse(extra), (err: unknown) => err instanceof ConfigError && err.message.includes(key), key);
    bad({ email: { ...SMTP, validation_token_lifetime: "soon" } }, "email.validation_token_lifetime");
    bad({ email: { ...SMTP, validation_token_lifetime: 0 } }, "email.validation_token_lifetime");
    bad({ email: { ...SMTP, client_base_url: "ftp://x" } }, "email.client_base_url");
    bad({ enable_3pid_changes: "no" }, "enable_3pid_changes");
    bad({ registrations_require_3pid: ["msisdn"], email: SMTP }, "registrations_require_3pid[0]");
    bad({ registrations_require_3pid: ["email"] }, "registrations_require_3pid");
    bad({ registrations_require_3pid: "email" }, "registrations_require_3pid");
    bad({ allowed_local_3pids: [{ medium: "fax", pattern: "x" }] }, "allowed_local_3pids[0].medium");
    bad({ allowed_local_3pids: [{ medium: "email", pattern: "(" }] }, "allowed_local_3pids[0].pattern");
    bad({ allowed_local_3pids: ["email"] }, "allowed_local_3pids[0]");
  });

  it("takes the required email as open registration's check", () => {
    const open = { enable_registration: true };
    assert.throws(() => parse(open), /enable_registration/);
    const { config } = parse({ ...open, registrations_require_3pid: ["email"], email: SMTP });
    assert.deepEqual(config.registrationsRequire3pid, ["email"]);
    assert.equal(config.enableRegistration, true);
  });

  it("reads enable_3pid_changes and allowed_local_3pids", () => {
    const { config } = parse({ enable_3pid_changes: false, allowed_local_3pids: [{ medium: "email", pattern: "^[^@]+@example\\.org$" }, { medium: "msisdn", pattern: "44" }] });
    assert.equal(config.enable3pidChanges, false);
    assert.deepEqual(config.allowedLocal3pids, [
      { medium: "email", pattern: "^[^@]+@example\\.org$" },
      { medium: "msisdn", pattern: "44" },
    ]);
  });

  it("reads rc_3pid_validation, with Synapse's default", () => {
    assert.deepEqual(parse({}).config.rateLimits.threepidValidation, { perSecond: 0.003, burstCount: 5 });
    assert.deepEqual(parse({ rc_3pid_validation: { per_second: 1, burst_count: 2 } }).config.rateLimits.threepidValidation, { perSecond: 1, burstCount: 2 });
  });
});
