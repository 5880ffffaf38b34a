// `listeners`, in Synapse's shape. Only `type: http` exists in Weft; Synapse's other listener types
// and resources are warned about and dropped rather than refused, so a Synapse file still starts.
import { isIP } from "node:net";
import { ConfigError } from "./config-error.ts";
import { DEFAULT_BIND_ADDRESSES } from "./defaults.ts";
import { describe, Section } from "./section.ts";
import type { ReadContext } from "./section.ts";
import type { ListenerConfig, ListenerResource, ListenerResourceName } from "./types.ts";

const RESOURCES: ReadonlySet<string> = new Set<ListenerResourceName>(["client", "federation", "media", "keys", "health", "openid"]);
const SYNAPSE_ONLY_RESOURCES: ReadonlySet<string> = new Set(["consent", "metrics", "replication", "static"]);
const SYNAPSE_ONLY_TYPES: ReadonlySet<string> = new Set(["metrics", "manhole", "replication"]);

/** The listeners to start; an entry Weft cannot serve at all is dropped with a warning. */
export function readListeners(ctx: ReadContext, items: unknown[], path: string): ListenerConfig[] {
  const listeners: ListenerConfig[] = [];
  items.forEach((item, i) => {
    const listener = readListener(Section.of(ctx, item, `${path}[${i}]`));
    if (listener !== undefined) listeners.push(listener);
  });
  if (listeners.length === 0) throw new ConfigError(path, "must contain at least one http listener");
  return listeners;
}

function readListener(s: Section): ListenerConfig | undefined {
  const type = s.string("type") ?? s.fail("type", "is required (use http)");
  if (SYNAPSE_ONLY_TYPES.has(type)) {
    s.ctx.warnings.push(`${s.keyPath("type")}: '${type}' listeners are Synapse-only: listener ignored`);
    return undefined;
  }
  if (type !== "http") s.fail("type", `must be http, got ${describe(type)}`);
  if (s.has("path")) s.fail("path", "UNIX socket listeners are not supported yet: use port");
  if (!s.has("port")) s.fail("port", "is required");
  const port = s.integer("port", 0, 1, 65535);

  const bindAddresses = (s.stringList("bind_addresses") ?? []).map((address, j) =>
    checkAddress(address, `${s.keyPath("bind_addresses")}[${j}]`));
  const legacy = s.string("bind_address"); // Synapse's older single-address form, appended as it does
  if (legacy !== undefined) bindAddresses.push(checkAddress(legacy, s.keyPath("bind_address")));

  const resources: ListenerResource[] = [];
  (s.list("resources") ?? []).forEach((raw, j) => {
    const resource = readResource(Section.of(s.ctx, raw, `${s.keyPath("resources")}[${j}]`));
    if (resource !== undefined) resources.push(resource);
  });

  const listener: ListenerConfig = {
    type: "http",
    port,
    bindAddresses: bindAddresses.length > 0 ? bindAddresses : DEFAULT_BIND_ADDRESSES,
    tls: s.boolean("tls", false),
    xForwarded: s.boolean("x_forwarded", false),
    resources,
  };
  s.finish();
  return listener;
}

function checkAddress(address: string, path: string): string {
  if (isIP(address) === 0) throw new ConfigError(path, `must be an IP address, got ${describe(address)}`);
  return address;
}

function readResource(s: Section): ListenerResource | undefined {
  const names: ListenerResourceName[] = [];
  (s.stringList("names") ?? s.fail("names", "is required")).forEach((name, k) => {
    if (RESOURCES.has(name)) names.push(name as ListenerResourceName);
    else if (SYNAPSE_ONLY_RESOURCES.has(name)) s.ctx.warnings.push(`${s.keyPath("names")}[${k}]: resource '${name}' is Synapse-only: ignored`);
    else throw new ConfigError(`${s.keyPath("names")}[${k}]`, `unknown resource ${describe(name)} (known: ${[...RESOURCES].join(", ")})`);
  });
  const compress = s.boolean("compress", false);
  s.finish();
  return names.length > 0 ? { names, compress } : undefined;
}
