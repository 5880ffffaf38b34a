// Reading homeserver.yaml from disk, or the embedded defaults when no file is given.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigError } from "./config-error.ts";
import { parseConfig } from "./parse.ts";
import { parseYamlText } from "./service-file.ts";
import type { HomeserverConfig } from "./types.ts";

export interface LoadConfigOptions {
  /** homeserver.yaml; relative to `cwd`. Without it, the embedded defaults. */
  readonly configPath?: string | undefined;
  /** Defaults to process.cwd(); the defaults' relative paths resolve against it. */
  readonly cwd?: string | undefined;
}

export interface LoadedConfig {
  readonly config: HomeserverConfig;
  /** One line per ignored key or Synapse-only setting, for the CLI to log. */
  readonly warnings: string[];
}

/**
 * The configuration to run with when no file is given: a local test server. It goes through the
 * same parser as a file, so it is also the smallest example of one.
 */
export const EMBEDDED_DEFAULTS = {
  server_name: "localhost",
  public_baseurl: "http://localhost:8008/",
  listeners: [
    { port: 8008, bind_addresses: ["127.0.0.1"], type: "http", resources: [{ names: ["client", "federation", "media", "keys"] }] },
  ],
  database: { name: "sqlite3", args: { database: "./data/homeserver.db" } },
  media_store_path: "./data/media_store",
  signing_key_path: "./data/localhost.signing.key",
} as const;

export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  if (options.configPath === undefined) return parseConfig(EMBEDDED_DEFAULTS, { baseDir: cwd });
  const configPath = resolve(cwd, options.configPath);
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (err) {
    throw new ConfigError(undefined, `cannot read config file ${configPath}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfigText(text, configPath);
}

/** Parses homeserver.yaml text; relative paths resolve against the folder of `configPath`. */
export function parseConfigText(text: string, configPath: string): LoadedConfig {
  const { raw, warnings: yamlWarnings } = parseYamlText(text, configPath);
  const { config, warnings } = parseConfig(raw, { baseDir: dirname(configPath), configPath });
  return { config, warnings: [...yamlWarnings, ...warnings] };
}
