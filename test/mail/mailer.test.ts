// The SMTP mailer and the `email` section, against a stand-in mail server: plain, STARTTLS with a
// login, the refusals an admin is told, and a server that is not there.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { readEmail } from "../../src/config/email.ts";
import { Section } from "../../src/config/section.ts";
import { MailError, SmtpMailer } from "../../src/mail/mailer.ts";
import { createTestPki, type TestPki } from "../homeserver/federation/pki.ts";
import { startSmtpStandIn, type SmtpStandIn } from "./smtp-stand-in.ts";

function emailSection(raw: Record<string, unknown>, warnings: string[] = []): Section {
  return Section.of({ baseDir: "/etc/weft", warnings }, raw, "email");
}

describe("email: the mailer", () => {
  let pki: TestPki;
  let plain: SmtpStandIn;
  let secure: SmtpStandIn;

  before(async () => {
    pki = await createTestPki();
    const cert = pki.issue(["mail.test"], ["127.0.0.1"]);
    plain = await startSmtpStandIn();
    secure = await startSmtpStandIn({ tls: { key: cert.key, cert: cert.cert }, users: { weft: "secret" } });
  });
  after(async () => {
    await plain.close();
    await secure.close();
    await pki.cleanup();
  });

  it("sends a mail with its From, subject and text", async () => {
    const config = readEmail(emailSection({ smtp_host: "127.0.0.1", smtp_port: plain.port, notif_from: "%(app)s <noreply@example.org>", enable_tls: false }), "Weft");
    assert.ok(config !== undefined);
    const mailer = new SmtpMailer(config);
    try {
      await mailer.send({ to: "alice@example.org", subject: "Your token", text: "123456" });
      const mail = await plain.next("alice@example.org");
      assert.equal(mail.from, "noreply@example.org");
      assert.equal(mail.subject, "Your token");
      assert.equal(mail.text.trim(), "123456");
      assert.equal(mail.secure, false);
    } finally {
      mailer.close();
    }
  });

  it("upgrades with STARTTLS, checks the certificate against the given CA and logs in", async () => {
    const config = readEmail(
      emailSection({
        smtp_host: "127.0.0.1",
        smtp_port: secure.port,
        smtp_user: "weft",
        smtp_pass: "secret",
        require_transport_security: true,
        tls_servername: "mail.test",
        smtp_ca_certificates: [pki.caPath],
        notif_from: "noreply@example.org",
      }),
      "Weft",
    );
    assert.ok(config !== undefined);
    const mailer = new SmtpMailer(config);
    try {
      await mailer.send({ to: "bob@example.org", subject: "Hello", text: "over TLS", html: "<p>over TLS</p>" });
      const mail = await secure.next("bob@example.org");
      assert.equal(mail.secure, true);
      assert.equal(mail.user, "weft");
      assert.match(mail.html, /over TLS/);
    } finally {
      mailer.close();
    }
  });

  it("fails with MailError when the certificate is not trusted, or nothing listens", async () => {
    const untrusted = new SmtpMailer({ smtpHost: "127.0.0.1", smtpPort: secure.port, forceTls: false, enableTls: true, requireTransportSecurity: true, tlsServername: "mail.test", from: "a@example.org" });
    const nobody = new SmtpMailer({ smtpHost: "127.0.0.1", smtpPort: 1, forceTls: false, enableTls: true, requireTransportSecurity: false, from: "a@example.org" });
    try {
      await assert.rejects(untrusted.send({ to: "c@example.org", subject: "s", text: "t" }), MailError);
      await assert.rejects(nobody.send({ to: "c@example.org", subject: "s", text: "t" }), MailError);
    } finally {
      untrusted.close();
      nobody.close();
    }
  });

  it("reads nothing to mail without smtp_host or notif_from, with a warning, and refuses contradictions", () => {
    const warnings: string[] = [];
    assert.equal(readEmail(emailSection({ smtp_host: "mail.example.org" }, warnings), "Weft"), undefined);
    assert.match(warnings.join("\n"), /no mail is sent/);
    assert.throws(
      () => readEmail(emailSection({ smtp_host: "m", notif_from: "a@b", force_tls: true, require_transport_security: true }), "Weft"),
      (err: unknown) => err instanceof ConfigError && /STARTTLS/.test(err.message),
    );
    assert.throws(() => readEmail(emailSection({ smtp_host: "m", notif_from: "a@b", smtp_port: 70000 }), "Weft"), ConfigError);
    const config = readEmail(emailSection({ smtp_host: "m", notif_from: "a@b" }), "Weft");
    assert.deepEqual({ port: config?.smtpPort, tls: config?.enableTls, force: config?.forceTls, app: config?.appName }, { port: 25, tls: true, force: false, app: "Weft" });
  });
});
