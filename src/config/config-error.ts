// The one error the config layer throws. Its message starts with the key path so the CLI can print
// it as is and an admin sees exactly which line of homeserver.yaml to fix.

/** An invalid configuration: a bad value of a known key, an unreadable file, or bad YAML. */
export class ConfigError extends Error {
  /** Where in homeserver.yaml the problem is, e.g. `listeners[0].port`; undefined for file-level errors. */
  readonly keyPath: string | undefined;

  constructor(keyPath: string | undefined, message: string, options?: { cause?: unknown }) {
    super(keyPath === undefined ? message : `${keyPath}: ${message}`, options);
    this.name = "ConfigError";
    this.keyPath = keyPath;
  }
}
