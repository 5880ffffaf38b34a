// The federation transport services, built from the config: HTTPS transport, discovery, client,
// keyring, request authentication and the key notary.
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { HomeserverConfig } from "../../config/index.ts";
import type { Database } from "../../storage/index.ts";
import { ServerKeyStore } from "../../storage/stores/server-keys.ts";
import { FederationClient } from "./client.ts";
import { ServerDiscovery } from "./discovery.ts";
import { systemResolver, type DnsResolver } from "./dns.ts";
import { IpRangePolicy } from "./ip-ranges.ts";
import { Keyring } from "./keyring.ts";
import { KeyNotary } from "./notary.ts";
import { FederationAuthenticator } from "./request-auth.ts";
import type { ServerKeyPublisher } from "./server-keys.ts";
import { HttpsTransport } from "./transport.ts";
import { fetchWellKnown } from "./well-known.ts";

export interface Federation {
  /** HTTPS to other servers; also how identity servers are reached (identity/identity-server-client.ts). */
  readonly transport: HttpsTransport;
  readonly discovery: ServerDiscovery;
  readonly client: FederationClient;
  readonly keyring: Keyring;
  readonly authenticator: FederationAuthenticator;
  readonly notary: KeyNotary;
  close(): Promise<void>;
}

export interface FederationDeps {
  readonly config: HomeserverConfig;
  readonly db: Database;
  readonly serverKeys: ServerKeyPublisher;
  readonly logger: Logger;
  /** DNS answers; the system's by default. */
  readonly resolver?: DnsResolver;
}

/** The PEM files of `federation_custom_ca_list`, read (push gateways trust them too). */
export async function readCaFiles(paths: readonly string[]): Promise<string[]> {
  return Promise.all(
    paths.map(async (path) => {
      try {
        return await readFile(path, "utf8");
      } catch (err) {
        throw new Error(`federation_custom_ca_list: cannot read ${path}: ${(err as Error).message}`, { cause: err });
      }
    }),
  );
}

/** The settings that say how other servers are reached: the homeserver's keys of those names, and the identity service's. */
export interface ServerTransportSettings {
  readonly ipRangeBlocklist: HomeserverConfig["ipRangeBlocklist"];
  readonly ipRangeAllowlist: HomeserverConfig["ipRangeAllowlist"];
  readonly federationVerifyCertificates: boolean;
  readonly federationCustomCaList: readonly string[];
}

/** HTTPS to other servers under the settings, and how their names are resolved (server-server-api#resolving-server-names). */
export async function serverTransport(settings: ServerTransportSettings, resolver: DnsResolver): Promise<{ transport: HttpsTransport; discovery: ServerDiscovery }> {
  const transport = new HttpsTransport({
    resolver,
    ipRanges: new IpRangePolicy(settings.ipRangeBlocklist, settings.ipRangeAllowlist),
    verifyCertificates: settings.federationVerifyCertificates,
    extraCaCertificates: await readCaFiles(settings.federationCustomCaList),
  });
  return { transport, discovery: new ServerDiscovery({ resolver, fetchWellKnown: (hostname) => fetchWellKnown(transport, hostname) }) };
}

export async function createFederation(deps: FederationDeps): Promise<Federation> {
  const { config, serverKeys } = deps;
  const logger = deps.logger.child({ component: "federation" });
  const { transport, discovery } = await serverTransport(config, deps.resolver ?? systemResolver);
  const client = new FederationClient({ serverName: config.serverName, signingKey: serverKeys.signingKey, discovery, transport });
  const keyring = new Keyring({
    serverName: config.serverName,
    ownKeys: serverKeys,
    store: new ServerKeyStore(deps.db),
    client,
    trustedKeyServers: config.trustedKeyServers,
    logger,
  });
  return {
    transport,
    discovery,
    client,
    keyring,
    authenticator: new FederationAuthenticator(config.serverName, keyring),
    notary: new KeyNotary(config.serverName, serverKeys, keyring),
    close: () => transport.close(),
  };
}
