// The `email` section, Synapse's keys, read the same for the homeserver and the identity service:
// how mail leaves (mail/mailer.ts). Without `smtp_host` and `notif_from` nothing is mailed.
// The caller passes the section, reads its own keys from it (a homeserver has more) and finishes it.
import { readFileSync } from "node:fs";
import { resolvePath, type Section } from "./section.ts";

/** How mail leaves: what mail/mailer.ts's SmtpMailer takes (config imports nothing of mail's). */
export interface EmailConfig {
  readonly smtpHost: string;
  readonly smtpPort: number;
  readonly smtpUser?: string | undefined;
  readonly smtpPass?: string | undefined;
  /** TLS from the first byte (`force_tls`), instead of STARTTLS. */
  readonly forceTls: boolean;
  /** STARTTLS when the server offers it (`enable_tls`). */
  readonly enableTls: boolean;
  /** Refuse a connection STARTTLS did not secure (`require_transport_security`). */
  readonly requireTransportSecurity: boolean;
  /** The From header (`notif_from`, with `%(app)s` replaced). */
  readonly from: string;
  readonly tlsServername?: string | undefined;
  readonly extraCaCertificates?: readonly string[] | undefined;
  /** The name mails give the service ("%(app)s" in Synapse's templates and notif_from). */
  readonly appName: string;
}

export function readEmail(s: Section, defaultAppName: string): EmailConfig | undefined {
  const appName = s.string("app_name") ?? defaultAppName;
  const smtpHost = s.string("smtp_host");
  const from = s.string("notif_from");
  const rest = {
    smtpPort: s.integer("smtp_port", 25, 1, 65535),
    smtpUser: s.string("smtp_user"),
    smtpPass: s.string("smtp_pass"),
    forceTls: s.boolean("force_tls", false),
    enableTls: s.boolean("enable_tls", true),
    requireTransportSecurity: s.boolean("require_transport_security", false),
    tlsServername: s.string("tls_servername"),
    extraCaCertificates: caList(s),
  };
  if (rest.forceTls && rest.requireTransportSecurity) s.fail("require_transport_security", "is for STARTTLS; with force_tls the connection is TLS from the start");
  if (smtpHost === undefined || from === undefined) {
    if (s.keys().length > 0) s.ctx.warnings.push(`${s.path}: without smtp_host and notif_from no mail is sent`);
    return undefined;
  }
  return { smtpHost, from: from.replaceAll("%(app)s", appName), appName, ...rest };
}

/** `smtp_ca_certificates` (Weft's key): PEM files trusted besides the system's roots, for a private relay. */
function caList(s: Section): string[] | undefined {
  const files = s.stringList("smtp_ca_certificates");
  if (files === undefined) return undefined;
  return files.map((file) => {
    try {
      return readFileSync(resolvePath(s.ctx.baseDir, file), "utf8");
    } catch (err) {
      return s.fail("smtp_ca_certificates", `cannot read ${file}: ${(err as Error).message}`);
    }
  });
}
