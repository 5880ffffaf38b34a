// Outbound-request policy: IP range lists and `trusted_key_servers`, in Synapse's shapes.
import { decodeBase64 } from "../core/crypto/base64.ts";
import { parseServerName } from "../core/identifiers/index.ts";
import { ConfigError } from "./config-error.ts";
import { ALWAYS_BLOCKED_IP_RANGES, DEFAULT_IP_RANGE_BLOCKLIST } from "./defaults.ts";
import { describe, Section } from "./section.ts";
import { normaliseIpRange } from "./values.ts";
import type { TrustedKeyServer } from "./types.ts";

export function readIpRanges(root: Section, key: string, fallback: readonly string[]): string[] {
  const ranges = (root.stringList(key) ?? fallback).map((range, i) => {
    const normalised = normaliseIpRange(range);
    if (normalised === undefined) {
      throw new ConfigError(`${root.keyPath(key)}[${i}]`, `must be an IPv4 or IPv6 address or CIDR range, got ${describe(range)}`);
    }
    return normalised;
  });
  return [...new Set(ranges)];
}

export function readIpRangeBlocklist(root: Section): string[] {
  const ranges = readIpRanges(root, "ip_range_blacklist", DEFAULT_IP_RANGE_BLOCKLIST);
  return [...new Set([...ranges, ...ALWAYS_BLOCKED_IP_RANGES])];
}

/** Weft's default is an empty list: ask each server for its own keys, trusting no notary. */
export function readTrustedKeyServers(root: Section): TrustedKeyServer[] {
  const items = root.list("trusted_key_servers") ?? [];
  return items.map((item, i) => readTrustedKeyServer(Section.of(root.ctx, item, `${root.keyPath("trusted_key_servers")}[${i}]`)));
}

function readTrustedKeyServer(s: Section): TrustedKeyServer {
  const name = s.string("server_name") ?? s.fail("server_name", "is required");
  const serverName = parseServerName(name) ?? s.fail("server_name", `is not a valid server name: ${describe(name)}`);
  const acceptKeysInsecurely = s.boolean("accept_keys_insecurely", false);
  const verify = s.section("verify_keys");
  let verifyKeys: Record<string, string> | undefined;
  if (verify !== undefined) {
    verifyKeys = {};
    for (const keyId of verify.keys()) {
      // A key ID is `algorithm:version` (appendices#signing-details); Weft verifies ed25519 only.
      if (!/^ed25519:[A-Za-z0-9_]+$/.test(keyId)) verify.fail(keyId, "must be named ed25519:<version>");
      const value = verify.string(keyId) ?? verify.fail(keyId, "is required");
      if (decodeBase64(value)?.length !== 32) verify.fail(keyId, "must be a base64 ed25519 public key (32 bytes)");
      verifyKeys[keyId] = value;
    }
    verify.finish();
  }
  if ((verifyKeys === undefined || Object.keys(verifyKeys).length === 0) && !acceptKeysInsecurely) {
    s.fail("verify_keys", "is required unless accept_keys_insecurely is true");
  }
  s.finish();
  return verifyKeys === undefined ? { serverName, acceptKeysInsecurely } : { serverName, verifyKeys, acceptKeysInsecurely };
}
