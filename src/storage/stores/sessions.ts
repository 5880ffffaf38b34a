// Sessions: issuing a device's tokens, and refresh-token rotation.
// client-server-api#relationship-between-access-tokens-and-devices, #refreshing-access-tokens
import type { Database, Trx } from "../database.ts";

export interface NewSession {
  userId: string;
  deviceId: string;
  /** The display name of the device when it is created; an existing device keeps its own. */
  displayName: string | null;
  accessTokenHash: string;
  /** Null for an access token that does not expire. */
  accessExpiresTs: number | null;
  /** Issue a refresh token too (client-server-api#refreshing-access-tokens). */
  refreshTokenHash?: string | undefined;
}

export interface IssuedSession {
  accessTokenId: number;
  refreshTokenId: number | null;
  /** The device did not exist before. */
  deviceCreated: boolean;
  /** Access tokens of an existing device that were revoked to make way for the new ones. */
  revokedAccessTokenIds: number[];
}

export interface RotatedSession {
  userId: string;
  deviceId: string;
  accessTokenId: number;
  refreshTokenId: number;
  /** Access tokens that died with the rotation (the one issued with the refresh token used, and the like). */
  revokedAccessTokenIds: number[];
}

export type RotateResult =
  | { kind: "rotated"; session: RotatedSession }
  | { kind: "unknown" }
  | { kind: "expired" };

export class SessionStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /**
   * Issues an access token (and maybe a refresh token) for a device, creating the device if the
   * user has none by that ID. When the device existed, its earlier tokens are revoked: the spec
   * lets a server invalidate them, and a client naming its device ID is starting a new session on it.
   */
  async issueSession(session: NewSession): Promise<IssuedSession> {
    return await this.#db.write("issue_session", async (trx) => {
      const now = this.#now();
      const created = await trx
        .insertInto("devices")
        .values({
          user_id: session.userId,
          device_id: session.deviceId,
          display_name: session.displayName,
          last_seen_ts: null,
          last_seen_ip: null,
          created_ts: now,
        })
        .onConflict((oc) => oc.columns(["user_id", "device_id"]).doNothing())
        .returning("device_id")
        .executeTakeFirst();
      let revokedAccessTokenIds: number[] = [];
      if (created === undefined) {
        const revoked = await trx
          .deleteFrom("access_tokens")
          .where("user_id", "=", session.userId)
          .where("device_id", "=", session.deviceId)
          .returning("id")
          .execute();
        revokedAccessTokenIds = revoked.map((r) => r.id);
        await trx.deleteFrom("refresh_tokens").where("user_id", "=", session.userId).where("device_id", "=", session.deviceId).execute();
      }
      const refreshTokenId =
        session.refreshTokenHash === undefined
          ? null
          : await insertRefreshToken(trx, session.refreshTokenHash, session.userId, session.deviceId, now);
      const accessTokenId = await insertAccessToken(trx, {
        tokenHash: session.accessTokenHash,
        userId: session.userId,
        deviceId: session.deviceId,
        now,
        expiresTs: session.accessExpiresTs,
        refreshTokenId,
      });
      return { accessTokenId, refreshTokenId, deviceCreated: created !== undefined, revokedAccessTokenIds };
    });
  }

  /**
   * Uses a refresh token: issues a new access token and refresh token for its device. The token
   * used stays valid until its successor (or the successor's access token) is used; using it again
   * before then replaces the unused successor. Its predecessor, if any, is revoked now.
   */
  async rotateRefreshToken(
    refreshTokenHash: string,
    next: { refreshTokenHash: string; accessTokenHash: string; accessExpiresTs: number | null },
  ): Promise<RotateResult> {
    return await this.#db.write("rotate_refresh_token", async (trx): Promise<RotateResult> => {
      const now = this.#now();
      const used = await trx.selectFrom("refresh_tokens").selectAll().where("token_hash", "=", refreshTokenHash).executeTakeFirst();
      if (used === undefined) return { kind: "unknown" };
      if (used.expires_ts !== null && used.expires_ts <= now) return { kind: "expired" };

      const revoked: number[] = [];
      // The predecessor is revoked: its successor (this one) is being used.
      revoked.push(...(await deleteRefreshTokens(trx, "next_token_id", used.id)));
      // An unused successor of an earlier rotation is replaced: the client never received it.
      if (used.next_token_id !== null) revoked.push(...(await deleteRefreshTokens(trx, "id", used.next_token_id)));
      // The access token issued with the refresh token being used dies now.
      const old = await trx.deleteFrom("access_tokens").where("refresh_token_id", "=", used.id).returning("id").execute();
      revoked.push(...old.map((r) => r.id));

      const refreshTokenId = await insertRefreshToken(trx, next.refreshTokenHash, used.user_id, used.device_id, now);
      await trx.updateTable("refresh_tokens").set({ next_token_id: refreshTokenId }).where("id", "=", used.id).execute();
      const accessTokenId = await insertAccessToken(trx, {
        tokenHash: next.accessTokenHash,
        userId: used.user_id,
        deviceId: used.device_id,
        now,
        expiresTs: next.accessExpiresTs,
        refreshTokenId,
      });
      return {
        kind: "rotated",
        session: { userId: used.user_id, deviceId: used.device_id, accessTokenId, refreshTokenId, revokedAccessTokenIds: revoked },
      };
    });
  }

  /**
   * The first use of an access token issued by a rotation revokes the refresh token that was
   * rotated (client-server-api#refreshing-access-tokens). Returns the access tokens revoked with it.
   */
  async revokePredecessor(refreshTokenId: number): Promise<number[]> {
    const exists = await this.#db.read("find_refresh_predecessor", (trx) =>
      trx.selectFrom("refresh_tokens").select("id").where("next_token_id", "=", refreshTokenId).executeTakeFirst(),
    );
    if (exists === undefined) return [];
    return await this.#db.write("revoke_refresh_predecessor", (trx) => deleteRefreshTokens(trx, "next_token_id", refreshTokenId));
  }
}

async function insertRefreshToken(trx: Trx, tokenHash: string, userId: string, deviceId: string, now: number): Promise<number> {
  const row = await trx
    .insertInto("refresh_tokens")
    .values({ token_hash: tokenHash, user_id: userId, device_id: deviceId, created_ts: now, expires_ts: null, next_token_id: null })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

async function insertAccessToken(
  trx: Trx,
  t: { tokenHash: string; userId: string; deviceId: string; now: number; expiresTs: number | null; refreshTokenId: number | null },
): Promise<number> {
  const row = await trx
    .insertInto("access_tokens")
    .values({
      token_hash: t.tokenHash,
      user_id: t.userId,
      device_id: t.deviceId,
      created_ts: t.now,
      expires_ts: t.expiresTs,
      refresh_token_id: t.refreshTokenId,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Deletes refresh tokens (by id, or those whose successor is `value`) and their access tokens. */
async function deleteRefreshTokens(trx: Trx, column: "id" | "next_token_id", value: number): Promise<number[]> {
  const gone = await trx.deleteFrom("refresh_tokens").where(column, "=", value).returning("id").execute();
  if (gone.length === 0) return [];
  const tokens = await trx
    .deleteFrom("access_tokens")
    .where("refresh_token_id", "in", gone.map((r) => r.id))
    .returning("id")
    .execute();
  return tokens.map((r) => r.id);
}
