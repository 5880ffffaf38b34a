// Media at Synapse's admin API, so that its admin tools clean up what users uploaded and what other
// servers' media fill the disk with: pages of a user's media, deleting them all (or a page of
// them), deleting one medium, deleting the local media not accessed since a time, purging the cache
// of remote media not accessed since a time, and who stores how much. Deleting removes the row,
// then the file and its thumbnails, as a media_retention purge does; downloads answer 404
// M_NOT_FOUND from then on (a remote medium is fetched again). Server admins only.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint, MatrixRequest } from "../../../http/endpoint.ts";
import type { LocalMediaRow, MediaStore, MediaUsageOrder, MediaUsageQuery, UserMediaOrder, UserMediaQuery } from "../../../storage/stores/media.ts";
import type { MediaRetention } from "../../media/media-retention.ts";
import type { MediaService } from "../../media/media-service.ts";
import { directionParam, limitParam, pathParam } from "../client/event-params.ts";
import { queryParam } from "../client/requester.ts";
import { adminPageLimit, localUserIdParam, orderParam } from "./admin-params.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

/** Synapse's `order_by` values, by the column each orders. */
const ORDERS: ReadonlyMap<string, UserMediaOrder> = new Map([
  ["media_id", "media_id"],
  ["upload_name", "upload_name"],
  ["created_ts", "created_ts"],
  ["last_access_ts", "last_access_ts"],
  ["media_length", "size"],
  ["media_type", "content_type"],
]);

/** 1971-01-01 in ms: a `before_ts` below it was surely given in seconds. */
const SECONDS_MISTAKEN = 31_536_000_000;

const USAGE_ORDERS: ReadonlySet<string> = new Set<MediaUsageOrder>(["user_id", "displayname", "media_length", "media_count"]);

export interface MediaAdminSources {
  readonly media: MediaService;
  readonly store: Pick<MediaStore, "usage">;
  readonly retention: Pick<MediaRetention, "purgeNow">;
  readonly serverName: string;
  readonly isAdmin: IsAdmin;
  /** Who quarantined a medium of ours, if anyone did, and whether it is protected from quarantine (media-quarantine.ts). */
  quarantinedBy(mediaId: string): string | undefined;
  isProtected(mediaId: string): boolean;
}

export function mediaAdminEndpoints(sources: MediaAdminSources): Endpoint[] {
  const { media, retention, serverName, isAdmin } = sources;
  const base = "/_synapse/admin/v1/users/:userId/media";

  const list: Endpoint = {
    name: "admin.user_media",
    method: "GET",
    paths: [base],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const query = mediaQuery(req);
      const { media: page, total } = await media.mediaOf(localUserIdParam(req, serverName), query);
      const out: JsonObject = { media: page.map((row) => mediaJson(row, sources.quarantinedBy(row.mediaId), sources.isProtected(row.mediaId))), total };
      if (query.offset + page.length < total) out["next_token"] = query.offset + page.length;
      return out;
    },
  };

  const deleteOfUser: Endpoint = {
    name: "admin.delete_user_media",
    method: "DELETE",
    paths: [base],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      // The page the same parameters list (Synapse's default: the first 100, oldest first).
      const { media: page } = await media.mediaOf(localUserIdParam(req, serverName), mediaQuery(req));
      const deleted = await media.deleteLocal(page.map((m) => m.mediaId));
      return { deleted_media: deleted, total: deleted.length };
    },
  };

  const deleteOne: Endpoint = {
    name: "admin.delete_media",
    method: "DELETE",
    paths: ["/_synapse/admin/v1/media/:serverName/:mediaId"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      if (pathParam(req, "serverName") !== serverName) throw new MatrixError("M_INVALID_PARAM", "Can only delete local media", 400);
      const deleted = await media.deleteLocal([pathParam(req, "mediaId")]);
      if (deleted.length === 0) throw new MatrixError("M_NOT_FOUND", "Media not found", 404);
      return { deleted_media: deleted, total: deleted.length };
    },
  };

  const deleteOlder: Endpoint = {
    name: "admin.delete_media_before",
    method: "POST",
    paths: ["/_synapse/admin/v1/media/delete", "/_synapse/admin/v1/media/:serverName/delete"],
    resource: "client",
    auth: "accessToken",
    body: "none",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      if (req.params["serverName"] !== undefined && req.params["serverName"] !== serverName) throw new MatrixError("M_INVALID_PARAM", "Can only delete local media", 400);
      const beforeTs = beforeTsParam(req);
      // Only what media_retention's purge does: any size, and never an avatar a user of ours has set.
      const size = queryParam(req, "size_gt");
      if (size !== undefined && size !== "0") throw new MatrixError("M_INVALID_PARAM", "size_gt is not supported by this server", 400);
      if (queryParam(req, "keep_profiles") === "false") throw new MatrixError("M_INVALID_PARAM", "Avatars in use are always kept by this server", 400);
      const deleted = (await retention.purgeNow("local", beforeTs)).map((uri) => uri.slice(uri.indexOf("/") + 1));
      return { deleted_media: deleted, total: deleted.length };
    },
  };

  const purgeCache: Endpoint = {
    name: "admin.purge_media_cache",
    method: "POST",
    paths: ["/_synapse/admin/v1/purge_media_cache"],
    resource: "client",
    auth: "accessToken",
    body: "none",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return { deleted: (await retention.purgeNow("remote", beforeTsParam(req))).length };
    },
  };

  const usage: Endpoint = {
    name: "admin.media_statistics",
    method: "GET",
    paths: ["/_synapse/admin/v1/statistics/users/media"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const search = queryParam(req, "search_term");
      const fromTs = queryParam(req, "from_ts");
      const untilTs = queryParam(req, "until_ts");
      const query: MediaUsageQuery = {
        offset: limitParam(req, 0, Number.MAX_SAFE_INTEGER, "from"),
        limit: adminPageLimit(req),
        orderBy: orderParam<MediaUsageOrder>(req, USAGE_ORDERS, "user_id"),
        direction: directionParam(req, "f"),
        ...(fromTs === undefined ? {} : { fromTs: limitParam(req, 0, Number.MAX_SAFE_INTEGER, "from_ts") }),
        ...(untilTs === undefined ? {} : { untilTs: limitParam(req, 0, Number.MAX_SAFE_INTEGER, "until_ts") }),
        ...(search === undefined || search === "" ? {} : { search }),
      };
      const page = await sources.store.usage(query);
      const out: JsonObject = {
        users: page.users.map((u) => ({ user_id: u.userId, displayname: u.displayname, media_count: u.mediaCount, media_length: u.mediaLength })),
        total: page.total,
      };
      if (query.offset + page.users.length < page.total) out["next_token"] = query.offset + page.users.length;
      return out;
    },
  };

  return [list, deleteOfUser, deleteOne, deleteOlder, purgeCache, usage];
}

/** The required `before_ts`, in ms: as Synapse, one before 1971 is taken for seconds by mistake and refused. */
function beforeTsParam(req: MatrixRequest): number {
  const text = queryParam(req, "before_ts");
  if (text === undefined || text === "") throw new MatrixError("M_MISSING_PARAM", "Missing parameter: before_ts", 400);
  if (!/^[0-9]{1,15}$/.test(text)) throw new MatrixError("M_INVALID_PARAM", "before_ts must be a timestamp in milliseconds", 400);
  const ts = Number(text);
  if (ts < SECONDS_MISTAKEN) throw new MatrixError("M_INVALID_PARAM", "before_ts is from 1970: it must be in milliseconds", 400);
  return ts;
}

function mediaQuery(req: MatrixRequest): UserMediaQuery {
  const orderBy = ORDERS.get(orderParam(req, ORDERS, "created_ts")) as UserMediaOrder;
  return { offset: limitParam(req, 0, Number.MAX_SAFE_INTEGER, "from"), limit: adminPageLimit(req), orderBy, direction: directionParam(req, "f") };
}

/** What Synapse's admin API says of a medium. */
function mediaJson(row: LocalMediaRow, quarantinedBy: string | undefined, isProtected: boolean): JsonObject {
  return {
    media_id: row.mediaId,
    media_type: row.contentType ?? null,
    media_length: row.size ?? null,
    upload_name: row.uploadName ?? null,
    created_ts: row.createdTs,
    last_access_ts: row.lastAccessTs ?? null,
    quarantined_by: quarantinedBy ?? null,
    safe_from_quarantine: isProtected,
  };
}
