// The DNS questions server discovery asks (server-server-api#resolving-server-names), behind an
// interface so tests answer them without real DNS.
import { lookup, resolveSrv } from "node:dns/promises";

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

export interface DnsResolver {
  /** The addresses of a hostname (CNAME, AAAA and A records); rejects when there are none. */
  lookup(hostname: string): Promise<readonly ResolvedAddress[]>;
  /** The SRV records of a name such as `_matrix-fed._tcp.example.org`; empty when there are none. */
  resolveSrv(name: string): Promise<readonly SrvRecord[]>;
}

/** The operating system's resolver (getaddrinfo, so /etc/hosts too) and DNS for SRV. */
export const systemResolver: DnsResolver = {
  async lookup(hostname) {
    const found = await lookup(hostname, { all: true, verbatim: true });
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  },
  async resolveSrv(name) {
    try {
      return await resolveSrv(name);
    } catch (err) {
      // No record, or no answer: either way discovery goes on to its next step.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTFOUND" || code === "ENODATA" || code === "ESERVFAIL" || code === "ETIMEOUT" || code === "ECONNREFUSED") {
        return [];
      }
      throw err;
    }
  },
};

/**
 * SRV records in the order to try them (RFC 2782): lowest priority first, and within a priority a
 * weighted random order. A single record whose target is "." means the service is not offered.
 */
export function orderSrvRecords(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  if (records.length === 1 && (records[0]?.name === "." || records[0]?.name === "")) return [];
  const byPriority = new Map<number, SrvRecord[]>();
  for (const record of records) {
    if (record.name === "." || record.name === "") continue;
    const group = byPriority.get(record.priority) ?? [];
    group.push(record);
    byPriority.set(record.priority, group);
  }
  const ordered: SrvRecord[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = [...(byPriority.get(priority) as SrvRecord[])];
    while (group.length > 0) {
      const total = group.reduce((sum, r) => sum + r.weight, 0);
      let pick = random() * total;
      let index = group.findIndex((r) => (pick -= r.weight) < 0);
      if (index < 0) index = 0; // all weights zero
      ordered.push(...group.splice(index, 1));
    }
  }
  return ordered;
}
