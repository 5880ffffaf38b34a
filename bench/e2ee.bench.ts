// Issue 6: POST /keys/claim for 100 devices (one signed_curve25519 key each) and POST /keys/query
// for 1,000 users (every device's keys, cross-signing keys and signatures), per second, against
// the bare authenticated request (GET /account/whoami) in the same run. SQLite, the default engine.
import { randomBytes } from "node:crypto";
import { encodeUnpaddedBase64 } from "../src/core/crypto/base64.ts";
import { generateSigningKey } from "../src/core/crypto/ed25519.ts";
import { signJson } from "../src/core/crypto/signing.ts";
import type { JsonObject } from "../src/core/json.ts";
import { DeviceStore } from "../src/storage/stores/devices.ts";
import { OneTimeKeyStore } from "../src/storage/stores/one-time-keys.ts";
import { UserStore } from "../src/storage/stores/users.ts";
import { startBenchHomeserver } from "./http-versions.bench.ts";
import { loadTest, printFigure } from "./lib.ts";

const USERS = 1000;
const CLAIMED_DEVICES = 100;
/** One-time keys per claimed device: more than the claims of the run take, so none falls back. */
const KEYS_PER_DEVICE = 4000;

export async function e2eeBench(): Promise<void> {
  const hs = await startBenchHomeserver();
  try {
    const { db, e2ee, accounts } = hs.server.services;
    const users = new UserStore(db);
    const devices = new DeviceStore(db);
    const userIds: string[] = [];
    // Users, their devices and signed device keys, made through the stores and the service (no
    // password hashing: registration is not what is measured).
    for (let i = 0; i < USERS; i++) {
      const userId = `@bench${i}:bench.local`;
      const deviceId = `DEV${i}`;
      await users.createUser(userId, null);
      await devices.createDevice(userId, deviceId, { displayName: `device ${i}` });
      const key = { ...generateSigningKey("x"), keyId: `ed25519:${deviceId}` };
      const deviceKeys = signJson(
        {
          user_id: userId,
          device_id: deviceId,
          algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
          keys: { [`curve25519:${deviceId}`]: encodeUnpaddedBase64(randomBytes(32)), [`ed25519:${deviceId}`]: key.publicKeyBase64 },
        },
        userId,
        key,
      );
      await e2ee.deviceKeys.upload(userId, deviceId, deviceKeys);
      if (i < CLAIMED_DEVICES) {
        // The server never reads a one-time key's signature: one signed key object stands for all.
        const otk = signJson({ key: encodeUnpaddedBase64(randomBytes(32)) }, userId, key);
        const keys = Array.from({ length: KEYS_PER_DEVICE }, (_, k) => ({ algorithm: "signed_curve25519", keyId: `K${k}`, key: otk as JsonObject }));
        await new OneTimeKeyStore(db).add(userId, deviceId, keys);
      }
      userIds.push(userId);
    }
    const session = await accounts.devices.createSession("@bench0:bench.local", { deviceId: "CLAIMER" });
    const headers = { authorization: `Bearer ${session.accessToken}`, "content-type": "application/json" };

    const whoami = await loadTest(`${hs.baseUrl}/_matrix/client/v3/account/whoami`, { headers, connections: 8 });
    const claimBody = JSON.stringify({
      one_time_keys: Object.fromEntries(userIds.slice(0, CLAIMED_DEVICES).map((u, i) => [u, { [`DEV${i}`]: "signed_curve25519" }])),
    });
    const claims = await loadTest(`${hs.baseUrl}/_matrix/client/v3/keys/claim`, { method: "POST", headers, body: claimBody, connections: 8 });
    const queryBody = JSON.stringify({ device_keys: Object.fromEntries(userIds.map((u) => [u, []])) });
    const queries = await loadTest(`${hs.baseUrl}/_matrix/client/v3/keys/query`, { method: "POST", headers, body: queryBody, connections: 8 });
    for (const [name, r] of [["whoami", whoami], ["claim", claims], ["query", queries]] as const) {
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name} answered ${r.non2xx} non-2xx, ${r.errors} errors`);
    }
    const left = (await e2ee.oneTimeKeys.counts("@bench0:bench.local", "DEV0"))["signed_curve25519"] ?? 0;
    if (left === 0) throw new Error("the one-time keys ran out: raise KEYS_PER_DEVICE");

    printFigure({
      name: `POST /keys/claim, ${CLAIMED_DEVICES} devices a request`,
      value: claims.requestsPerSecond,
      unit: "req/s",
      better: "higher",
      baseline: { name: "GET /account/whoami, same server", value: whoami.requestsPerSecond },
    });
    console.log(`  = ${Math.round(claims.requestsPerSecond * CLAIMED_DEVICES)} keys claimed/s; latency p50/p99 ${claims.latencyP50Ms}/${claims.latencyP99Ms} ms`);
    printFigure({
      name: `POST /keys/query, ${USERS} users a request`,
      value: queries.requestsPerSecond,
      unit: "req/s",
      better: "higher",
      baseline: { name: "GET /account/whoami, same server", value: whoami.requestsPerSecond },
    });
    console.log(`  latency p50/p99: query ${queries.latencyP50Ms}/${queries.latencyP99Ms} ms, whoami ${whoami.latencyP50Ms}/${whoami.latencyP99Ms} ms`);
  } finally {
    await hs.stop();
  }
}
