/**
 * Helpers for the end-to-end encryption tests: devices with real ed25519 keys, signed key objects
 * as a client makes them, cross-signing keys, and rooms built through the roomserver.
 */
import { encodeUnpaddedBase64 } from "../../../src/core/crypto/base64.ts";
import { generateSigningKey, type SigningKey } from "../../../src/core/crypto/ed25519.ts";
import { signJson } from "../../../src/core/crypto/signing.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { randomBytes } from "node:crypto";
import type { TestHomeserver } from "../harness.ts";
import { call, type TestUser } from "../api/client/helpers.ts";

/** Open registration, generous rate limits: the accounts tests' settings. */
export { ACCOUNTS_YAML } from "../api/client/helpers.ts";

/** A device's ed25519 key, named `ed25519:<device ID>` as device keys are. */
export function deviceSigningKey(deviceId: string): SigningKey {
  const key = generateSigningKey("x");
  return { ...key, version: deviceId, keyId: `ed25519:${deviceId}` };
}

/** A cross-signing key, named `ed25519:<public key>`. */
export function crossSigningKeyPair(): SigningKey {
  const key = generateSigningKey("x");
  return { ...key, version: key.publicKeyBase64, keyId: `ed25519:${key.publicKeyBase64}` };
}

/** A random curve25519-looking public key (the server never looks inside). */
export function fakeCurveKey(): string {
  return encodeUnpaddedBase64(randomBytes(32));
}

/** The device's identity keys, signed by its own ed25519 key (#uploading-keys). */
export function signedDeviceKeys(userId: string, deviceId: string, key: SigningKey, extra: JsonObject = {}): JsonObject {
  return signJson(
    {
      user_id: userId,
      device_id: deviceId,
      algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
      keys: { [`curve25519:${deviceId}`]: fakeCurveKey(), [`ed25519:${deviceId}`]: key.publicKeyBase64 },
      ...extra,
    },
    userId,
    key,
  );
}

/** A signed_curve25519 key object signed by the device. */
export function signedCurveKey(userId: string, key: SigningKey, fallback = false): JsonObject {
  return signJson({ key: fakeCurveKey(), ...(fallback ? { fallback: true } : {}) }, userId, key);
}

/** `count` signed one-time keys with IDs `<prefix>0`, `<prefix>1`, ... */
export function oneTimeKeys(userId: string, key: SigningKey, count: number, prefix = "AAAA"): JsonObject {
  const out: JsonObject = {};
  for (let i = 0; i < count; i++) out[`signed_curve25519:${prefix}${i}`] = signedCurveKey(userId, key);
  return out;
}

/** A cross-signing key object of the given usage, signed by `signer` when given. */
export function crossSigningKeyObject(userId: string, usage: string, key: SigningKey, signer?: SigningKey): JsonObject {
  const object: JsonObject = { user_id: userId, usage: [usage], keys: { [key.keyId]: key.publicKeyBase64 } };
  return signer === undefined ? object : signJson(object, userId, signer);
}

export interface E2eeDevice {
  readonly user: TestUser;
  readonly key: SigningKey;
  readonly deviceKeys: JsonObject;
}

/** Uploads device keys for the user's device; returns them with the signing key. */
export async function uploadDeviceKeys(hs: TestHomeserver, user: TestUser, extra: JsonObject = {}): Promise<E2eeDevice> {
  const key = deviceSigningKey(user.deviceId);
  const deviceKeys = signedDeviceKeys(user.userId, user.deviceId, key);
  const reply = await call(hs, "POST", "/_matrix/client/v3/keys/upload", { token: user.accessToken, body: { device_keys: deviceKeys, ...extra } });
  if (reply.status !== 200) throw new Error(`keys/upload answered ${reply.status} ${JSON.stringify(reply.body)}`);
  return { user, key, deviceKeys };
}

/** A room with public join rules, created by `creator` and joined by `members`, through the roomserver. */
export async function roomWith(hs: TestHomeserver, creator: string, members: readonly string[] = []): Promise<string> {
  const roomserver = hs.server.services.roomserver;
  const { roomId } = await roomserver.createRoom({ roomVersion: "10", creator });
  await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: creator, sender: creator, content: { membership: "join" } });
  await roomserver.createLocalEvent({ roomId, type: "m.room.power_levels", stateKey: "", sender: creator, content: { users: { [creator]: 100 } } });
  await roomserver.createLocalEvent({ roomId, type: "m.room.join_rules", stateKey: "", sender: creator, content: { join_rule: "public" } });
  for (const member of members) await setMembership(hs, roomId, member, "join");
  return roomId;
}

/** Joins or leaves a room, then waits until the device-list stream has recorded it. */
export async function setMembership(hs: TestHomeserver, roomId: string, userId: string, membership: "join" | "leave"): Promise<void> {
  const { streamOrdering } = await hs.server.services.roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: userId, sender: userId, content: { membership } });
  await hs.server.services.rooms.membershipIndex.waitUntil(streamOrdering ?? 0);
  await settleDeviceLists(hs);
}

/** Waits for the membership changes heard so far to be in the device-list stream. */
export async function settleDeviceLists(hs: TestHomeserver): Promise<void> {
  // The stream hears a change after the index applied it: one turn of the event loop, then its write.
  await new Promise((resolve) => setImmediate(resolve));
  await hs.server.services.e2ee.deviceLists.flush();
}

/** A sync token carrying only a device-list position (what /sync would hand out). */
export function deviceListToken(position: number): string {
  return position === 0 ? "s1" : `s1_l${position}`;
}
