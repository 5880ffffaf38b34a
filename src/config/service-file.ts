// What every config file of Weft reads alike: the YAML itself (homeserver.yaml, push-gateway.yaml,
// identity-service.yaml) and `log_level`; and for the homeserver's sibling services, their one
// `http` listener.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isIP } from "node:net";
import { parseDocument } from "yaml";
import { ConfigError } from "./config-error.ts";
import { describe, type Section } from "./section.ts";
import type { LogLevel } from "./types.ts";

/**
 * The parsed document of YAML text read from `path`. YAML 1.1, the version Synapse's (and Sygnal's)
 * PyYAML reads: `yes`/`no`/`on`/`off` are booleans there, and files written for them must mean the same here.
 */
export function parseYamlText(text: string, path: string): { raw: unknown; warnings: string[] } {
  const doc = parseDocument(text, { version: "1.1", prettyErrors: true });
  const first = doc.errors[0];
  if (first !== undefined) throw new ConfigError(undefined, `${path} is not valid YAML: ${first.message}`);
  return { raw: doc.toJS(), warnings: doc.warnings.map((w) => `${path}: ${w.message}`) };
}

/** The config file at `configPath` (against `cwd`), parsed, with the folder its relative paths start from. */
export async function readYamlFile(configPath: string, cwd: string = process.cwd()): Promise<{ raw: unknown; warnings: string[]; path: string; baseDir: string }> {
  const path = resolve(cwd, configPath);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(undefined, `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { ...parseYamlText(text, path), path, baseDir: dirname(path) };
}

const LOG_LEVELS: ReadonlySet<string> = new Set<LogLevel>(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export function readLogLevel(root: Section): LogLevel {
  const level = root.string("log_level") ?? "info";
  if (!LOG_LEVELS.has(level)) root.fail("log_level", `must be one of ${[...LOG_LEVELS].join(", ")}, got ${describe(level)}`);
  return level as LogLevel;
}

/**
 * A sibling service's `http` section: its port, the addresses it binds (loopback by default, for a
 * reverse proxy in front) and whether X-Forwarded-For is believed. The section is given back
 * unfinished, for the caller's own keys.
 */
export function readServiceHttp(root: Section, defaultPort: number): { http: Section | undefined; port: number; bindAddresses: string[]; xForwarded: boolean } {
  const http = root.section("http");
  const port = http?.integer("port", defaultPort, 1, 65535) ?? defaultPort;
  const bindAddresses = (http?.stringList("bind_addresses") ?? ["127.0.0.1"]).map((address, i) => {
    if (isIP(address) === 0) throw new ConfigError(`http.bind_addresses[${i}]`, `must be an IP address, got ${describe(address)}`);
    return address;
  });
  return { http, port, bindAddresses, xForwarded: http?.boolean("x_forwarded", false) ?? false };
}
