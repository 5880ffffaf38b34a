import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { HomeserverConfig, ListenerConfig } from "../config/index.ts";
import type { Resource } from "../http/endpoint.ts";
import { startListeners, type BoundAddress, type ListenerSpec } from "../http/listeners.ts";
import { createServices, type Services } from "./services.ts";

export interface RunningHomeserver {
  readonly addresses: readonly BoundAddress[];
  readonly services: Services;
  /** Graceful shutdown: stop accepting, answer the accepted requests, then close storage. */
  close(): Promise<void>;
}

const RESOURCES: ReadonlySet<string> = new Set<Resource>(["client", "federation", "keys", "media", "health", "openid"]);

async function listenerSpec(config: HomeserverConfig, listener: ListenerConfig): Promise<ListenerSpec> {
  const resources = new Set<Resource>(["health"]); // /health is served on every listener, as Synapse does
  for (const resource of listener.resources) {
    for (const name of resource.names) if (RESOURCES.has(name)) resources.add(name as Resource);
  }
  // What Synapse's listener resources imply (its config manual, `listeners`): `client` implies
  // `media` (a Synapse file naming [client, federation] serves uploads and downloads), and
  // `federation` implies `media`, `keys` and `openid`. `openid` is the federation OpenID userinfo
  // endpoint alone, `keys` the server's keys and the notary: without them other servers could check
  // none of this server's signatures.
  if (resources.has("client")) resources.add("media");
  if (resources.has("federation")) {
    resources.add("media");
    resources.add("openid");
    resources.add("keys");
  }
  let tls: ListenerSpec["tls"];
  if (listener.tls) {
    // The config layer refuses a TLS listener without both paths.
    tls = {
      cert: await readFile(config.tlsCertificatePath as string),
      key: await readFile(config.tlsPrivateKeyPath as string),
    };
  }
  return { port: listener.port, bindAddresses: listener.bindAddresses, resources, xForwarded: listener.xForwarded, tls };
}

export async function startHomeserver(config: HomeserverConfig, logger: Logger): Promise<RunningHomeserver> {
  const services = await createServices(config, logger);
  try {
    const specs = await Promise.all(config.listeners.map((l) => listenerSpec(config, l)));
    const listeners = await startListeners(services.http, specs);
    return {
      addresses: listeners.addresses,
      services,
      close: async () => {
        // Long-polls answer at once rather than keep the listeners open until they time out.
        services.sync.notifier.close();
        await listeners.close();
        await services.close();
      },
    };
  } catch (error) {
    await services.close();
    throw error;
  }
}
