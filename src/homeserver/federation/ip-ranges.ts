// Which addresses outbound federation may connect to: Synapse's `ip_range_blacklist` and
// `ip_range_whitelist`. Checked on the resolved address itself, at connect time, so a DNS answer
// that changes between a check and the connection (DNS rebinding) cannot reach a blocked address.
import { BlockList, isIP } from "node:net";

/** The eight 16-bit groups of an IPv6 address (which isIP has already accepted). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (isIP(tail) === 4) {
    // A trailing dotted quad stands for the last two groups.
    const [a, b, c, d] = tail.split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const zeros = rest === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(zeros).fill("0"), ...right].map((g) => parseInt(g, 16));
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2), if it is one. */
export function unmapIPv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const groups = ipv6Groups(address);
  if (groups.length !== 8 || groups.slice(0, 5).some((g) => g !== 0) || groups[5] !== 0xffff) return undefined;
  const high = groups[6] as number;
  const low = groups[7] as number;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

function toBlockList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const slash = range.indexOf("/");
    const address = slash < 0 ? range : range.slice(0, slash);
    const family = isIP(address);
    if (family === 0) throw new Error(`not an IP range: ${range}`);
    const prefix = slash < 0 ? (family === 4 ? 32 : 128) : Number(range.slice(slash + 1));
    list.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
  }
  return list;
}

function matches(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (list.check(address, family === 4 ? "ipv4" : "ipv6")) return true;
  // An IPv4-mapped IPv6 address is the IPv4 address: it must meet the IPv4 ranges too.
  const mapped = family === 6 ? unmapIPv4(address) : undefined;
  return mapped !== undefined && list.check(mapped, "ipv4");
}

/** The blocklist and its exceptions, as CIDR strings (`addr/prefix`, or a bare address). */
export class IpRangePolicy {
  private readonly blocked: BlockList;
  private readonly allowed: BlockList;

  constructor(blocklist: readonly string[], allowlist: readonly string[] = []) {
    this.blocked = toBlockList(blocklist);
    this.allowed = toBlockList(allowlist);
  }

  /** Whether connecting to this IP address is refused: in a blocked range and in no allowed one. */
  isBlocked(address: string): boolean {
    if (isIP(address) === 0) return true; // only addresses are checked; a name here is a bug upstream
    return matches(this.blocked, address) && !matches(this.allowed, address);
  }
}
