import pino, { type Logger } from "pino";

/** The process logger: JSON lines on stdout (pino), each request's lines carrying its `reqId`. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { name: "weft" },
    // A password or token never belongs in a log line, whatever a caller passes in.
    redact: { paths: ["password", "*.password", "access_token", "*.access_token", "req.headers.authorization"], censor: "[redacted]" },
  });
}
