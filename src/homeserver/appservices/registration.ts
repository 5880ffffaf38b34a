// Application service registration files (application-service-api#registration; the Registration
// definition in data/api/application-service/definitions/registration.yaml): read at start from
// `app_service_config_files`, checked, and refused with the file and the key at fault.
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../../config/index.ts";
import { isValidLocalpart } from "../../core/identifiers/index.ts";

/** One namespace entry: a regular expression and whether the service claims it alone. */
export interface Namespace {
  readonly regex: RegExp;
  /** The expression as written in the file. */
  readonly source: string;
  readonly exclusive: boolean;
}

export interface Namespaces {
  readonly users: readonly Namespace[];
  readonly aliases: readonly Namespace[];
  readonly rooms: readonly Namespace[];
}

export interface AppserviceRegistration {
  readonly id: string;
  /** Null when the service wants no traffic (registration.yaml `url`). */
  readonly url: string | null;
  readonly asToken: string;
  readonly hsToken: string;
  readonly senderLocalpart: string;
  readonly namespaces: Namespaces;
  /** Whether requests of masqueraded users are rate limited (the sender never is); default true as in Synapse. */
  readonly rateLimited: boolean;
  readonly protocols: readonly string[];
  /** v1.13 `receive_ephemeral`; defaults to false. */
  readonly receiveEphemeral: boolean;
}

type Fail = (key: string, message: string) => never;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requiredString(doc: Record<string, unknown>, key: string, fail: Fail): string {
  const value = doc[key];
  if (value === undefined || value === null) fail(key, "is required");
  if (typeof value !== "string" || value === "") fail(key, "must be a non-empty string");
  return value as string;
}

function optionalBoolean(doc: Record<string, unknown>, key: string, fallback: boolean, fail: Fail): boolean {
  const value = doc[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") fail(key, "must be true or false");
  return value as boolean;
}

/**
 * The expression of a namespace. Anchored at the start as Synapse matches them (`@_irc_.*` claims
 * `@_irc_bob:example.org`), not at the end.
 */
function namespaceList(value: unknown, key: string, fail: Fail): Namespace[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(key, "must be a list of namespaces");
  return (value as unknown[]).map((entry, i) => {
    const at = `${key}[${i}]`;
    if (!isObject(entry)) fail(at, "must be a mapping with regex and exclusive");
    const { regex, exclusive } = entry as Record<string, unknown>;
    if (typeof regex !== "string" || regex === "") fail(`${at}.regex`, "must be a non-empty string");
    if (exclusive !== undefined && typeof exclusive !== "boolean") fail(`${at}.exclusive`, "must be true or false");
    let compiled: RegExp;
    try {
      compiled = new RegExp(`^(?:${regex as string})`);
    } catch (error) {
      fail(`${at}.regex`, `is not a valid regular expression (${(error as Error).message})`);
    }
    return { regex: compiled!, source: regex as string, exclusive: exclusive === true };
  });
}

/** Checks one parsed registration document; `file` names it in errors. */
export function parseRegistration(doc: unknown, file: string): AppserviceRegistration {
  const fail: Fail = (key, message) => {
    throw new ConfigError(undefined, `app service registration ${file}: ${key} ${message}`);
  };
  if (!isObject(doc)) fail("(document)", "must be a mapping");
  const d = doc as Record<string, unknown>;
  const id = requiredString(d, "id", fail);
  // registration.yaml: `url` is required but may be null ("if no traffic is required").
  if (!("url" in d)) fail("url", "is required (null for a service that wants no traffic)");
  const url = d["url"] ?? null;
  if (url !== null) {
    if (typeof url !== "string") fail("url", "must be a URL or null");
    const parsed = URL.canParse(url as string) ? new URL(url as string) : fail("url", "must be a URL or null");
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") fail("url", "must be an http or https URL");
  }
  const asToken = requiredString(d, "as_token", fail);
  const hsToken = requiredString(d, "hs_token", fail);
  const senderLocalpart = requiredString(d, "sender_localpart", fail);
  if (!isValidLocalpart(senderLocalpart)) fail("sender_localpart", "is not a valid user ID localpart");
  const ns = d["namespaces"];
  if (ns === undefined || ns === null) fail("namespaces", "is required");
  if (!isObject(ns)) fail("namespaces", "must be a mapping of users, aliases and rooms");
  const n = ns as Record<string, unknown>;
  const protocols = d["protocols"] ?? [];
  if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== "string" || p === "")) fail("protocols", "must be a list of strings");
  return {
    id,
    url: url === null ? null : (url as string).replace(/\/+$/, ""),
    asToken,
    hsToken,
    senderLocalpart,
    namespaces: {
      users: namespaceList(n["users"], "namespaces.users", fail),
      aliases: namespaceList(n["aliases"], "namespaces.aliases", fail),
      rooms: namespaceList(n["rooms"], "namespaces.rooms", fail),
    },
    rateLimited: optionalBoolean(d, "rate_limited", true, fail),
    protocols: protocols as string[],
    receiveEphemeral: optionalBoolean(d, "receive_ephemeral", false, fail),
  };
}

/**
 * application-service-api#registration: "each as_token and id MUST be unique per application
 * service ... The homeserver MUST enforce this." Two services with one sender are refused too.
 */
export function checkUnique(registrations: readonly { registration: AppserviceRegistration; file: string }[]): void {
  const seen = { id: new Map<string, string>(), as_token: new Map<string, string>(), sender_localpart: new Map<string, string>() };
  for (const { registration, file } of registrations) {
    const values = { id: registration.id, as_token: registration.asToken, sender_localpart: registration.senderLocalpart };
    for (const key of ["id", "as_token", "sender_localpart"] as const) {
      const other = seen[key].get(values[key]);
      if (other !== undefined) throw new ConfigError(undefined, `app service registration ${file}: ${key} is the same as in ${other}`);
      seen[key].set(values[key], file);
    }
  }
}

/** Reads, parses and checks every registration file, in order. */
export async function loadRegistrations(files: readonly string[]): Promise<AppserviceRegistration[]> {
  const loaded: { registration: AppserviceRegistration; file: string }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new ConfigError(undefined, `app service registration ${file}: cannot be read (${(error as Error).message})`, { cause: error });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (error) {
      throw new ConfigError(undefined, `app service registration ${file}: is not valid YAML (${(error as Error).message})`, { cause: error });
    }
    loaded.push({ registration: parseRegistration(doc, file), file });
  }
  checkUnique(loaded);
  return loaded.map((l) => l.registration);
}
