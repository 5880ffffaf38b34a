// Resolving server names (server-server-api#resolving-server-names): where to connect for a
// server name, with which Host header, and which name its certificate must carry.
import { splitServerName, type ServerName } from "../../core/identifiers/index.ts";
import { orderSrvRecords, type DnsResolver, type SrvRecord } from "./dns.ts";
import type { TransportTarget } from "./transport.ts";
import type { WellKnownResult } from "./well-known.ts";
import { rememberRecent } from "../../core/recent-map.ts";

/** The default federation port (server-server-api#resolving-server-names, steps 1, 3.5 and 6). */
export const DEFAULT_FEDERATION_PORT = 8448;

/** How long a resolution through SRV records is reused (SRV answers carry no TTL through node:dns). */
const SRV_CACHE_MS = 60 * 60 * 1000;
/** Bound on the cached server names, since any server name can be asked about. */
const MAX_CACHED = 10_000;

export interface ResolvedServer {
  /** Where to connect, in order: more than one only when SRV records offer several. */
  readonly targets: readonly TransportTarget[];
  /** The Host header; its hostname is also the TLS server name (see TransportRequest). */
  readonly hostHeader: string;
}

export interface DiscoveryOptions {
  readonly resolver: DnsResolver;
  /** Fetches `https://<hostname>/.well-known/matrix/server`; never throws. */
  readonly fetchWellKnown: (hostname: string) => Promise<WellKnownResult>;
  readonly now?: () => number;
}

function hostForUrl(host: string, kind: string): string {
  return kind === "ipv6" ? `[${host}]` : host;
}

export class ServerDiscovery {
  private readonly wellKnownCache = new Map<string, { result: WellKnownResult; expiresAt: number }>();
  private readonly resolved = new Map<string, { server: ResolvedServer; expiresAt: number }>();
  /** Well-known fetches under way, so concurrent requests to one server fetch it once. */
  private readonly fetching = new Map<string, Promise<{ result: WellKnownResult; expiresAt: number }>>();
  private readonly now: () => number;

  constructor(private readonly options: DiscoveryOptions) {
    this.now = options.now ?? Date.now;
  }

  async resolve(serverName: ServerName): Promise<ResolvedServer> {
    const cached = this.resolved.get(serverName);
    if (cached !== undefined && cached.expiresAt > this.now()) return cached.server;
    const { host, port, kind } = splitServerName(serverName);
    // Step 1: an IP literal, with its port or 8448; the Host header is the server name as given.
    // Step 2: a hostname with an explicit port: its addresses and that port, Host the server name.
    if (kind !== "dns" || port !== undefined) {
      return { targets: [{ host, port: port ?? DEFAULT_FEDERATION_PORT }], hostHeader: serverName };
    }
    // Step 3: the well-known delegation.
    const wellKnown = await this.wellKnown(host);
    let server: ResolvedServer;
    let expiresAt = wellKnown.expiresAt;
    if (wellKnown.result.delegated !== undefined) {
      const delegated = splitServerName(wellKnown.result.delegated);
      if (delegated.kind !== "dns" || delegated.port !== undefined) {
        // Steps 3.1 and 3.2: the delegated IP literal or hostname with port; Host is the delegated name.
        const hostHeader = hostForUrl(delegated.host, delegated.kind) + (delegated.port === undefined ? "" : `:${delegated.port}`);
        server = { targets: [{ host: delegated.host, port: delegated.port ?? DEFAULT_FEDERATION_PORT }], hostHeader };
      } else {
        // Steps 3.3 to 3.5: SRV records of the delegated hostname, then port 8448.
        server = await this.viaSrv(delegated.host);
        expiresAt = Math.min(expiresAt, this.now() + SRV_CACHE_MS);
      }
    } else {
      // Steps 4 to 6: SRV records of the hostname itself, then port 8448.
      server = await this.viaSrv(host);
      expiresAt = Math.min(expiresAt, this.now() + SRV_CACHE_MS);
    }
    this.remember(this.resolved, serverName, { server, expiresAt });
    return server;
  }

  /** `_matrix-fed._tcp`, then the deprecated `_matrix._tcp`, then the hostname on port 8448. */
  private async viaSrv(hostname: string): Promise<ResolvedServer> {
    for (const service of ["_matrix-fed._tcp", "_matrix._tcp"]) {
      let records: SrvRecord[];
      try {
        records = orderSrvRecords(await this.options.resolver.resolveSrv(`${service}.${hostname}`));
      } catch {
        records = [];
      }
      if (records.length > 0) {
        // The certificate and Host stay the hostname's: DNS is not trusted to delegate (the spec's note).
        return { targets: records.map((r) => ({ host: r.name.replace(/\.$/, ""), port: r.port })), hostHeader: hostname };
      }
    }
    return { targets: [{ host: hostname, port: DEFAULT_FEDERATION_PORT }], hostHeader: hostname };
  }

  private async wellKnown(hostname: string): Promise<{ result: WellKnownResult; expiresAt: number }> {
    const cached = this.wellKnownCache.get(hostname);
    if (cached !== undefined && cached.expiresAt > this.now()) return cached;
    let running = this.fetching.get(hostname);
    if (running === undefined) {
      running = this.options.fetchWellKnown(hostname).then((result) => {
        const entry = { result, expiresAt: this.now() + result.cacheMs };
        this.remember(this.wellKnownCache, hostname, entry);
        return entry;
      });
      this.fetching.set(hostname, running);
      const forget = (): void => {
        this.fetching.delete(hostname);
      };
      running.then(forget, forget);
    }
    return running;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    rememberRecent(map, key, value, MAX_CACHED);
  }
}
