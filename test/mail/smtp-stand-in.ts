// A mail server for tests: smtp-server on loopback, each message parsed (mailparser) and kept.
// With `tls`, it offers STARTTLS with the given key and certificate.
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Whether the message came over a connection STARTTLS secured. */
  readonly secure: boolean;
  readonly user: string | undefined;
}

export interface SmtpStandIn {
  readonly port: number;
  readonly received: ReceivedMail[];
  /** The next mail to `to` (or to anyone), waiting for it if none has come yet. */
  next(to?: string, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export async function startSmtpStandIn(options: { tls?: { key: string; cert: string }; users?: Record<string, string> } = {}): Promise<SmtpStandIn> {
  const received: ReceivedMail[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: [...(options.tls === undefined ? ["STARTTLS"] : []), ...(options.users === undefined ? ["AUTH"] : [])],
    ...(options.tls === undefined ? {} : { key: options.tls.key, cert: options.tls.cert }),
    authOptional: options.users === undefined,
    allowInsecureAuth: true,
    onAuth: (auth, _session, callback) => {
      if (options.users?.[auth.username ?? ""] === auth.password) callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onData: (stream, session, callback) => {
      simpleParser(stream).then(
        (mail) => {
          received.push({
            from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: mail.subject ?? "",
            text: mail.text ?? "",
            html: typeof mail.html === "string" ? mail.html : "",
            secure: session.secure,
            user: typeof session.user === "string" ? session.user : undefined,
          });
          for (const wake of waiters.splice(0)) wake();
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    received,
    async next(to, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = received.findIndex((m, i) => i >= taken && (to === undefined || m.to.includes(to)));
        if (index !== -1) {
          taken = index + 1;
          return received[index] as ReceivedMail;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no mail${to === undefined ? "" : ` to ${to}`} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
