// The logging the storage layer does: a subset of pino's Logger, so a pino logger fits as is.
export interface StorageLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
