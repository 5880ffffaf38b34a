// Cross-signing keys and the signatures uploaded for them (modules/end_to_end_encryption.md#cross-signing).
// A user has at most one key of each type; a new upload replaces the old. Signatures uploaded
// through keys/signatures/upload are kept apart from the objects they sign (a device's keys or a
// master key), so each reader is shown only those it may see.
import type { JsonObject } from "../../core/json.ts";
import type { Database } from "../database.ts";
import { chunks } from "./room-state.ts";

export type CrossSigningKeyType = "master" | "self_signing" | "user_signing";

export const CROSS_SIGNING_KEY_TYPES: readonly CrossSigningKeyType[] = ["master", "self_signing", "user_signing"];

export interface StoredCrossSigningKey {
  readonly userId: string;
  readonly keyType: CrossSigningKeyType;
  /** The unpadded base64 public key (its key ID is `ed25519:` and this). */
  readonly publicKey: string;
  readonly key: JsonObject;
}

export interface CrossSigningSignature {
  readonly signerUserId: string;
  /** e.g. `ed25519:DEVICEID` or `ed25519:<self-signing public key>`. */
  readonly signerKeyId: string;
  readonly targetUserId: string;
  /** A device ID, or a master key's public key. */
  readonly targetKeyId: string;
  readonly signature: string;
}

function isKeyType(value: string): value is CrossSigningKeyType {
  return (CROSS_SIGNING_KEY_TYPES as readonly string[]).includes(value);
}

export class CrossSigningStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** The current keys of the users. */
  async keysOf(userIds: readonly string[]): Promise<StoredCrossSigningKey[]> {
    if (userIds.length === 0) return [];
    return await this.#db.read("get_cross_signing_keys", async (trx) => {
      const out: StoredCrossSigningKey[] = [];
      for (const chunk of chunks([...new Set(userIds)])) {
        const rows = await trx.selectFrom("e2e_cross_signing_keys").select(["user_id", "key_type", "public_key", "key_json"]).where("user_id", "in", chunk).execute();
        for (const r of rows) {
          if (isKeyType(r.key_type)) out.push({ userId: r.user_id, keyType: r.key_type, publicKey: r.public_key, key: JSON.parse(r.key_json) as JsonObject });
        }
      }
      return out;
    });
  }

  /** Stores the keys, each replacing the user's key of its type. */
  async put(userId: string, keys: readonly { keyType: CrossSigningKeyType; publicKey: string; key: JsonObject }[]): Promise<void> {
    if (keys.length === 0) return;
    const now = this.#now();
    await this.#db.write("put_cross_signing_keys", async (trx) => {
      for (const k of keys) {
        const values = { public_key: k.publicKey, key_json: JSON.stringify(k.key), added_ts: now };
        await trx
          .insertInto("e2e_cross_signing_keys")
          .values({ user_id: userId, key_type: k.keyType, ...values })
          .onConflict((oc) => oc.columns(["user_id", "key_type"]).doUpdateSet(values))
          .execute();
      }
    });
  }

  /** Stores signatures; one already stored from the same signer's key is replaced. */
  async addSignatures(signatures: readonly CrossSigningSignature[]): Promise<void> {
    if (signatures.length === 0) return;
    await this.#db.write("add_cross_signing_signatures", async (trx) => {
      for (const s of signatures) {
        await trx
          .insertInto("e2e_cross_signing_signatures")
          .values({
            signer_user_id: s.signerUserId,
            signer_key_id: s.signerKeyId,
            target_user_id: s.targetUserId,
            target_key_id: s.targetKeyId,
            signature: s.signature,
          })
          .onConflict((oc) => oc.columns(["target_user_id", "target_key_id", "signer_user_id", "signer_key_id"]).doUpdateSet({ signature: s.signature }))
          .execute();
      }
    });
  }

  /**
   * The signatures on the users' keys that `viewer` may see (#key-and-signature-security): those
   * made by the key's owner, and those made by the viewer (if any).
   */
  async signaturesVisibleTo(viewer: string | undefined, targetUserIds: readonly string[]): Promise<CrossSigningSignature[]> {
    if (targetUserIds.length === 0) return [];
    return await this.#db.read("get_cross_signing_signatures", async (trx) => {
      const out: CrossSigningSignature[] = [];
      for (const chunk of chunks([...new Set(targetUserIds)])) {
        const rows = await trx
          .selectFrom("e2e_cross_signing_signatures")
          .selectAll()
          .where("target_user_id", "in", chunk)
          .where((eb) =>
            viewer === undefined
              ? eb("signer_user_id", "=", eb.ref("target_user_id"))
              : eb.or([eb("signer_user_id", "=", eb.ref("target_user_id")), eb("signer_user_id", "=", viewer)]),
          )
          .execute();
        for (const r of rows) {
          out.push({
            signerUserId: r.signer_user_id,
            signerKeyId: r.signer_key_id,
            targetUserId: r.target_user_id,
            targetKeyId: r.target_key_id,
            signature: r.signature,
          });
        }
      }
      return out;
    });
  }

  /** Deletes the signatures on deleted devices' keys. */
  async deleteSignaturesOnDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.#db.write("delete_device_signatures", async (trx) => {
      for (const chunk of chunks(deviceIds)) {
        await trx.deleteFrom("e2e_cross_signing_signatures").where("target_user_id", "=", userId).where("target_key_id", "in", chunk).execute();
      }
    });
  }
}
