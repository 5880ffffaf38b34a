// Reaching homeservers: their OpenID userinfo (identity-service-api#authentication), their signing
// keys for X-Matrix-signed /3pid/unbind requests, and their /3pid/onbind. Built from the
// homeserver's own federation parts: server discovery, the guarded HTTPS transport (the IP range
// blocklist applies, as a homeserver name in a request is the caller's choice) and the keyring.
import type { FastifyBaseLogger } from "fastify";
import type { SigningKey } from "../core/crypto/ed25519.ts";
import { FederationClient } from "../homeserver/federation/client.ts";
import { serverTransport } from "../homeserver/federation/federation.ts";
import { systemResolver, type DnsResolver } from "../homeserver/federation/dns.ts";
import { Keyring, type KeyringStore } from "../homeserver/federation/keyring.ts";
import { FederationAuthenticator } from "../homeserver/federation/request-auth.ts";
import type { StoredServerKey } from "../storage/stores/server-keys.ts";
import type { IdentityServiceConfig } from "./config.ts";

export interface IdentityFederation {
  readonly client: FederationClient;
  readonly authenticator: FederationAuthenticator;
  close(): Promise<void>;
}

/** The most homeserver keys remembered: any server can sign an unbind, so the memory is bounded. */
const MAX_REMEMBERED_SERVERS = 10_000;

/**
 * Homeservers' keys, kept in memory: the service verifies few requests (unbinds), and the keyring
 * fetches a key again after a restart when it needs one.
 */
class MemoryKeyStore implements KeyringStore {
  readonly #keys = new Map<string, Map<string, StoredServerKey>>();

  async storeKeys(keys: readonly StoredServerKey[]): Promise<void> {
    for (const key of keys) {
      let forServer = this.#keys.get(key.serverName);
      if (forServer === undefined) {
        if (this.#keys.size >= MAX_REMEMBERED_SERVERS) this.#keys.delete(this.#keys.keys().next().value as string);
        this.#keys.set(key.serverName, (forServer = new Map()));
      }
      forServer.set(key.keyId, key);
    }
  }

  async getKey(serverName: string, keyId: string): Promise<StoredServerKey | undefined> {
    return this.#keys.get(serverName)?.get(keyId);
  }

  async getKeys(serverName: string): Promise<StoredServerKey[]> {
    return [...(this.#keys.get(serverName)?.values() ?? [])];
  }
}

export async function createIdentityFederation(
  config: IdentityServiceConfig,
  signingKeys: readonly SigningKey[],
  logger: FastifyBaseLogger,
  resolver: DnsResolver = systemResolver,
): Promise<IdentityFederation> {
  const { transport, discovery } = await serverTransport(config, resolver);
  const signingKey = signingKeys[0] as SigningKey;
  // Requests are signed as the service (identity-service-api#invitation-storage: the onbind request
  // "MUST be signed with a long-term private key for the identity server").
  const client = new FederationClient({ serverName: config.serverName, signingKey, discovery, transport, timeoutMs: 30_000 });
  const keyring = new Keyring({
    serverName: config.serverName,
    ownKeys: {
      verifyKey: (keyId) => {
        const key = signingKeys.find((k) => k.keyId === keyId);
        return key === undefined ? undefined : { publicKey: key.publicKey, expiredTs: undefined };
      },
    },
    store: new MemoryKeyStore(),
    client,
    logger: logger.child({ component: "keyring" }),
  });
  return {
    client,
    authenticator: new FederationAuthenticator(config.serverName, keyring),
    close: () => transport.close(),
  };
}
