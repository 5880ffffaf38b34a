// Sending e-mail over SMTP (nodemailer), for what the homeserver and the identity service mail:
// validation tokens (client-server-api#adding-account-administrative-contact-information,
// identity-service-api#email-associations) and third-party invites (identity-service-api#invitation-storage).
//
// The settings are Synapse's `email` keys (config/email.ts): implicit TLS (`force_tls`), STARTTLS
// when the server offers it (`enable_tls`) and required (`require_transport_security`).
import { createTransport, type Transporter } from "nodemailer";

export interface MailerConfig {
  readonly smtpHost: string;
  readonly smtpPort: number;
  readonly smtpUser?: string;
  readonly smtpPass?: string;
  /** TLS from the first byte (port 465, "SMTPS"), instead of STARTTLS. */
  readonly forceTls: boolean;
  /** Upgrade with STARTTLS when the server offers it. */
  readonly enableTls: boolean;
  /** Refuse to send over a connection STARTTLS did not secure. */
  readonly requireTransportSecurity: boolean;
  /** The From header, "Name <address>" or an address. */
  readonly from: string;
  /** The certificate name the server must present; the host by default. */
  readonly tlsServername?: string;
  /** PEM certificates trusted besides the system's roots (a private mail relay, tests). */
  readonly extraCaCertificates?: readonly string[];
}

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

/** The mail could not be handed to the SMTP server. */
export class MailError extends Error {
  override name = "MailError";
}

/** Where mail goes: SMTP in a server, a recording list in tests. */
export interface MailSender {
  send(mail: Mail): Promise<void>;
  close(): void;
}

export class SmtpMailer implements MailSender {
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(config: MailerConfig) {
    this.#from = config.from;
    const auth = config.smtpUser === undefined ? undefined : { user: config.smtpUser, pass: config.smtpPass ?? "" };
    this.#transport = createTransport({
      host: config.smtpHost,
      port: config.smtpPort,
      secure: config.forceTls,
      ignoreTLS: !config.forceTls && !config.enableTls,
      requireTLS: config.requireTransportSecurity,
      ...(auth === undefined ? {} : { auth }),
      pool: true,
      maxConnections: 2,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      tls: {
        ...(config.tlsServername === undefined ? {} : { servername: config.tlsServername }),
        ...(config.extraCaCertificates === undefined ? {} : { ca: [...config.extraCaCertificates] }),
      },
    });
  }

  async send(mail: Mail): Promise<void> {
    try {
      await this.#transport.sendMail({ from: this.#from, to: mail.to, subject: mail.subject, text: mail.text, ...(mail.html === undefined ? {} : { html: mail.html }) });
    } catch (err) {
      throw new MailError(`mail to ${mail.to} could not be sent: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): void {
    this.#transport.close();
  }
}
