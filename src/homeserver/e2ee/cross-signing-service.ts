// Cross-signing (modules/end_to_end_encryption.md#cross-signing; cross_signing.yaml): a user's
// master, self-signing and user-signing keys, the signatures made with them or with devices, and
// which of those signatures each user may see (#key-and-signature-security).
import { MatrixError } from "../../core/errors.ts";
import type { MatrixErrorCode } from "../../core/errors.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { CrossSigningKeyType, CrossSigningSignature, CrossSigningStore, StoredCrossSigningKey } from "../../storage/stores/cross-signing.ts";
import type { UserInteractiveAuth } from "../users/uia.ts";
import type { DeviceKeyService } from "./device-key-service.ts";
import type { DeviceListService } from "./device-list-service.ts";
import { ed25519PublicKey, isSignedBy, parseCrossSigningKey, signedContent, withSignatures, type CrossSigningKey } from "./key-objects.ts";

/** The user's devices, to keep cross-signing keys from colliding with device IDs. */
export interface DeviceLister {
  listDevices(userId: string): Promise<readonly { readonly deviceId: string }[]>;
}

/** The keys/query fields of cross-signing: user ID -> key, with the signatures the viewer may see. */
export interface CrossSigningKeysView {
  readonly masterKeys: Map<string, JsonObject>;
  readonly selfSigningKeys: Map<string, JsonObject>;
  readonly userSigningKeys: Map<string, JsonObject>;
  /** Signatures on devices' keys: user ID -> device ID -> signer -> key ID -> signature. */
  readonly deviceSignatures: Map<string, Map<string, Map<string, Map<string, string>>>>;
}

/** Told when keys other servers see change (device_list_update / signing_key_update EDUs). */
export interface PublicKeyListener {
  devicesChanged(userId: string, deviceIds: readonly string[]): Promise<void>;
  signingKeysChanged(userId: string): Promise<void>;
}

export type SignatureFailures = Record<string, Record<string, { errcode: MatrixErrorCode; error: string }>>;

/** Other servers' users' master keys, as keys/query retrieves them (the cache, else their servers). */
export type RemoteMasterKeys = (viewer: string, userIds: readonly string[]) => Promise<Map<string, JsonObject>>;

const UPLOAD_FIELDS: readonly [string, CrossSigningKeyType][] = [
  ["master_key", "master"],
  ["self_signing_key", "self_signing"],
  ["user_signing_key", "user_signing"],
];

class SignatureFailure extends Error {
  constructor(
    readonly errcode: MatrixErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function stored(key: StoredCrossSigningKey): CrossSigningKey {
  return parseCrossSigningKey(key.key, key.keyType, key.userId, key.keyType);
}

function addTo<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

export class CrossSigningService {
  readonly #store: CrossSigningStore;
  readonly #deviceKeys: DeviceKeyService;
  readonly #devices: DeviceLister;
  readonly #uia: UserInteractiveAuth;
  readonly #deviceLists: DeviceListService;
  #publicKeyListener: PublicKeyListener | undefined;
  #remoteMasterKeys: RemoteMasterKeys | undefined;

  constructor(store: CrossSigningStore, deviceKeys: DeviceKeyService, devices: DeviceLister, uia: UserInteractiveAuth, deviceLists: DeviceListService) {
    this.#store = store;
    this.#deviceKeys = deviceKeys;
    this.#devices = devices;
    this.#uia = uia;
    this.#deviceLists = deviceLists;
  }

  /** Tells `listener` of changes to keys that other servers see. */
  onPublicKeysChanged(listener: PublicKeyListener): void {
    this.#publicKeyListener = listener;
  }

  /** Where other servers' users' master keys come from, to check signatures made on them. */
  useRemoteMasterKeys(lookup: RemoteMasterKeys): void {
    this.#remoteMasterKeys = lookup;
  }

  /** POST /keys/device_signing/upload. */
  async uploadKeys(requester: Requester, body: JsonObject): Promise<void> {
    const userId = requester.userId;
    const uploaded = new Map<CrossSigningKeyType, CrossSigningKey>();
    for (const [field, keyType] of UPLOAD_FIELDS) {
      const value = body[field];
      if (value === undefined) continue;
      if (!isJsonObject(value)) throw new MatrixError("M_BAD_JSON", `${field} must be an object`, 400);
      const { unsigned: _unsigned, ...key } = value;
      uploaded.set(keyType, parseCrossSigningKey(key, keyType, userId, field));
    }
    const existing = new Map((await this.#store.keysOf([userId])).map((k) => [k.keyType, k]));
    const existingMaster = existing.get("master");
    const master = uploaded.get("master") ?? (existingMaster === undefined ? undefined : stored(existingMaster));
    // cross_signing.yaml: the other keys "Must be signed by the accompanying master signing key, or
    // by the user's most recently uploaded master signing key".
    for (const keyType of ["self_signing", "user_signing"] as const) {
      const key = uploaded.get(keyType);
      if (key === undefined) continue;
      if (master === undefined) throw new MatrixError("M_MISSING_PARAM", "No master signing key is available", 400);
      if (!isSignedBy(key.key, userId, master.keyId, master.publicKeyBytes)) {
        throw new MatrixError("M_INVALID_SIGNATURE", `The ${keyType} key is not signed by the master signing key`, 400);
      }
    }
    const changed = [...uploaded.values()].filter((k) => {
      const before = existing.get(k.keyType);
      return before === undefined || signedContent(before.key) !== signedContent(k.key);
    });
    // Uploading the keys stored already changes nothing and needs no authentication (the spec makes
    // the endpoint idempotent so a retry after a lost response is not challenged).
    if (changed.length === 0) return;
    // #key-and-signature-security: "Servers therefore must ensure that device IDs will not collide
    // with cross-signing public keys" (cross_signing.yaml answers 403).
    const deviceIds = new Set((await this.#devices.listDevices(userId)).map((d) => d.deviceId));
    for (const k of changed) {
      if (deviceIds.has(k.publicKey)) throw new MatrixError("M_FORBIDDEN", "Key ID in use: a device has this ID", 403);
    }
    // cross_signing.yaml: UIA unless there is no master key yet, or the request has no new keys.
    if (existingMaster !== undefined) {
      await this.#uia.authenticate({ endpoint: "POST /keys/device_signing/upload", userId, body, flows: await this.#uia.reauthenticationFlows(userId) });
    }
    await this.#store.put(userId, changed.map((k) => ({ keyType: k.keyType, publicKey: k.publicKey, key: k.key })));
    // Others only see the master and self-signing keys; the user-signing key is for its owner alone.
    const visibleToOthers = changed.some((k) => k.keyType !== "user_signing");
    await this.#deviceLists.keysChanged(userId, visibleToOthers ? undefined : userId);
    if (visibleToOthers) await this.#publicKeyListener?.signingKeysChanged(userId);
  }

  /** POST /keys/signatures/upload: stores the valid signatures, reports the others in `failures`. */
  async uploadSignatures(requester: Requester, body: JsonObject): Promise<{ failures: SignatureFailures }> {
    const userId = requester.userId;
    const failures: SignatureFailures = {};
    const signatures: CrossSigningSignature[] = [];
    const own = new Map((await this.#store.keysOf([userId])).map((k) => [k.keyType, stored(k)]));
    const otherUsers = Object.keys(body).filter((u) => u !== userId);
    const otherMasters = new Map(
      (await this.#store.keysOf(otherUsers)).filter((k) => k.keyType === "master").map((k) => [k.userId, stored(k)]),
    );
    // cross_signing.yaml: the object must match the key "previously uploaded or retrieved": other
    // servers' users' master keys are the ones keys/query retrieves.
    const notStored = otherUsers.filter((u) => !otherMasters.has(u));
    if (notStored.length > 0 && this.#remoteMasterKeys !== undefined) {
      for (const [targetUserId, key] of await this.#remoteMasterKeys(userId, notStored)) {
        const { unsigned: _unsigned, ...master } = key;
        try {
          otherMasters.set(targetUserId, parseCrossSigningKey(master, "master", targetUserId, "master_key"));
        } catch {
          // not a master key we can check a signature against: the signature fails as unknown
        }
      }
    }
    const changedUsers = new Set<string>();
    const signedOthers = new Set<string>();

    for (const [targetUserId, objects] of Object.entries(body)) {
      if (!isJsonObject(objects)) {
        failures[targetUserId] = { "*": { errcode: "M_BAD_JSON", error: "Expected a map of key IDs to signed objects" } };
        continue;
      }
      for (const [keyId, object] of Object.entries(objects)) {
        try {
          if (!isJsonObject(object)) throw new SignatureFailure("M_BAD_JSON", "Expected a signed object");
          const signature =
            targetUserId === userId
              ? await this.#ownSignature(userId, keyId, object, own)
              : this.#otherUserSignature(userId, targetUserId, keyId, object, own, otherMasters);
          signatures.push(...signature);
          if (targetUserId === userId) changedUsers.add(userId);
          else signedOthers.add(targetUserId);
        } catch (error) {
          if (!(error instanceof SignatureFailure)) throw error;
          (failures[targetUserId] ??= {})[keyId] = { errcode: error.errcode, error: error.message };
        }
      }
    }
    await this.#store.addSignatures(signatures);
    for (const changedUser of changedUsers) await this.#deviceLists.keysChanged(changedUser);
    // m.device_list_update.yaml: "also sent when an existing device gets a new cross-signing
    // signature"; a new signature on the master key changes what m.signing_key_update carries.
    if (changedUsers.has(userId) && this.#publicKeyListener !== undefined) {
      const masterKey = own.get("master")?.publicKey;
      const ownSignatures = signatures.filter((s) => s.targetUserId === userId);
      const devices = ownSignatures.filter((s) => s.targetKeyId !== masterKey).map((s) => s.targetKeyId);
      if (devices.length > 0) await this.#publicKeyListener.devicesChanged(userId, devices);
      if (ownSignatures.some((s) => s.targetKeyId === masterKey)) await this.#publicKeyListener.signingKeysChanged(userId);
    }
    // A signature made with the user-signing key is seen by the signer alone (#key-and-signature-security).
    for (const target of signedOthers) await this.#deviceLists.keysChanged(target, userId);
    return { failures };
  }

  /**
   * The cross-signing keys of the users, as `viewer` may see them: master and self-signing keys of
   * everyone, the user-signing key of the viewer only, and the signatures the viewer may see
   * (undefined: another server, which sees only signatures made by the keys' owners).
   */
  async keysFor(viewer: string | undefined, userIds: readonly string[]): Promise<CrossSigningKeysView> {
    const view: CrossSigningKeysView = { masterKeys: new Map(), selfSigningKeys: new Map(), userSigningKeys: new Map(), deviceSignatures: new Map() };
    if (userIds.length === 0) return view;
    const [keys, signatures] = await Promise.all([this.#store.keysOf(userIds), this.#store.signaturesVisibleTo(viewer, userIds)]);
    const masterOf = new Map(keys.filter((k) => k.keyType === "master").map((k) => [k.userId, k.publicKey]));
    // target user -> target key ID -> signer -> signer's key ID -> signature
    const byTarget = new Map<string, Map<string, Map<string, Map<string, string>>>>();
    for (const s of signatures) {
      const forKey = addTo(addTo(byTarget, s.targetUserId, () => new Map()), s.targetKeyId, () => new Map<string, Map<string, string>>());
      addTo(forKey, s.signerUserId, () => new Map<string, string>()).set(s.signerKeyId, s.signature);
    }
    for (const k of keys) {
      if (k.keyType === "master") view.masterKeys.set(k.userId, withSignatures(k.key, byTarget.get(k.userId)?.get(k.publicKey) ?? new Map()));
      else if (k.keyType === "self_signing") view.selfSigningKeys.set(k.userId, k.key);
      else if (k.userId === viewer) view.userSigningKeys.set(k.userId, k.key);
    }
    for (const [targetUserId, byKey] of byTarget) {
      for (const [targetKeyId, bySigner] of byKey) {
        if (targetKeyId === masterOf.get(targetUserId)) continue;
        addTo(view.deviceSignatures, targetUserId, () => new Map()).set(targetKeyId, bySigner);
      }
    }
    return view;
  }

  /**
   * Other servers' users' master keys (user ID -> key) with the signatures `viewer` made on them:
   * those are kept here only (#key-and-signature-security: seen by the signer alone).
   */
  async withViewerSignatures(viewer: string, masterKeys: Record<string, JsonObject>): Promise<void> {
    const userIds = Object.keys(masterKeys);
    if (userIds.length === 0) return;
    const byTarget = new Map<string, Map<string, string>>(); // target user -> signer's key ID -> signature
    for (const s of await this.#store.signaturesVisibleTo(viewer, userIds)) {
      if (s.signerUserId !== viewer) continue;
      const key = masterKeys[s.targetUserId];
      const keys = isJsonObject(key) ? key["keys"] : undefined;
      if (!isJsonObject(keys) || keys[`ed25519:${s.targetKeyId}`] !== s.targetKeyId) continue;
      addTo(byTarget, s.targetUserId, () => new Map<string, string>()).set(s.signerKeyId, s.signature);
    }
    for (const [targetUserId, signatures] of byTarget) {
      masterKeys[targetUserId] = withSignatures(masterKeys[targetUserId] as JsonObject, new Map([[viewer, signatures]]));
    }
  }

  /** The devices are gone: so are the signatures on their keys. */
  deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    return this.#store.deleteSignaturesOnDevices(userId, deviceIds);
  }

  // The user signs its own master key with a device, or one of its devices with its self-signing key.
  async #ownSignature(userId: string, keyId: string, object: JsonObject, own: ReadonlyMap<CrossSigningKeyType, CrossSigningKey>): Promise<CrossSigningSignature[]> {
    const master = own.get("master");
    const mine = signaturesBy(object, userId);
    if (master !== undefined && keyId === master.publicKey) {
      if (signedContent(object) !== signedContent(master.key)) throw new SignatureFailure("M_INVALID_SIGNATURE", "The object is not the stored master key");
      const out: CrossSigningSignature[] = [];
      for (const [signerKeyId, signature] of mine) {
        if (signerKeyId === master.keyId) continue;
        const deviceId = signerKeyId.startsWith("ed25519:") ? signerKeyId.slice("ed25519:".length) : undefined;
        const deviceKeys = deviceId === undefined ? undefined : await this.#deviceKeys.get(userId, deviceId);
        const publicKey = deviceKeys === undefined ? undefined : ed25519PublicKey(deviceKeys, signerKeyId);
        if (publicKey === undefined) throw new SignatureFailure("M_INVALID_SIGNATURE", `${signerKeyId} is not a key of the user's devices`);
        if (!isSignedBy(object, userId, signerKeyId, publicKey)) throw new SignatureFailure("M_INVALID_SIGNATURE", "Invalid signature");
        out.push({ signerUserId: userId, signerKeyId, targetUserId: userId, targetKeyId: master.publicKey, signature });
      }
      if (out.length === 0) throw new SignatureFailure("M_INVALID_SIGNATURE", "No signature by one of the user's devices");
      return out;
    }
    const selfSigning = own.get("self_signing");
    if (selfSigning === undefined) throw new SignatureFailure("M_NOT_FOUND", "The user has no self-signing key");
    const deviceKeys = await this.#deviceKeys.get(userId, keyId);
    if (deviceKeys === undefined) throw new SignatureFailure("M_NOT_FOUND", "Unknown device, or a device without keys");
    if (signedContent(object) !== signedContent(deviceKeys)) throw new SignatureFailure("M_INVALID_SIGNATURE", "The object is not the device's stored keys");
    const signature = mine.get(selfSigning.keyId);
    if (signature === undefined || !isSignedBy(object, userId, selfSigning.keyId, selfSigning.publicKeyBytes)) {
      throw new SignatureFailure("M_INVALID_SIGNATURE", "Invalid signature");
    }
    return [{ signerUserId: userId, signerKeyId: selfSigning.keyId, targetUserId: userId, targetKeyId: keyId, signature }];
  }

  // The user signs another user's master key with its user-signing key.
  #otherUserSignature(
    userId: string,
    targetUserId: string,
    keyId: string,
    object: JsonObject,
    own: ReadonlyMap<CrossSigningKeyType, CrossSigningKey>,
    otherMasters: ReadonlyMap<string, CrossSigningKey>,
  ): CrossSigningSignature[] {
    const userSigning = own.get("user_signing");
    if (userSigning === undefined) throw new SignatureFailure("M_NOT_FOUND", "The user has no user-signing key");
    const master = otherMasters.get(targetUserId);
    if (master === undefined || keyId !== master.publicKey) throw new SignatureFailure("M_NOT_FOUND", "Not the user's master signing key");
    if (signedContent(object) !== signedContent(master.key)) throw new SignatureFailure("M_INVALID_SIGNATURE", "The object is not the stored master key");
    const signature = signaturesBy(object, userId).get(userSigning.keyId);
    if (signature === undefined || !isSignedBy(object, userId, userSigning.keyId, userSigning.publicKeyBytes)) {
      throw new SignatureFailure("M_INVALID_SIGNATURE", "Invalid signature");
    }
    return [{ signerUserId: userId, signerKeyId: userSigning.keyId, targetUserId, targetKeyId: master.publicKey, signature }];
  }
}

/** The signatures an object carries from one signer: key ID -> signature. */
function signaturesBy(object: JsonObject, signer: string): Map<string, string> {
  const out = new Map<string, string>();
  const signatures = object["signatures"];
  const bySigner = isJsonObject(signatures) ? signatures[signer] : undefined;
  if (isJsonObject(bySigner)) for (const [keyId, signature] of Object.entries(bySigner)) if (typeof signature === "string") out.set(keyId, signature);
  return out;
}
