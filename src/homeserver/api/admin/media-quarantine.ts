// Quarantining media at Synapse's admin API, so that its tools take illegal or abusive media out of
// reach without deleting them (media/media-quarantine.ts says what a quarantine does):
// - POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}, and .../unquarantine/...;
// - POST /_synapse/admin/v1/room/{roomId}/media/quarantine (and its older path
//   /_synapse/admin/v1/quarantine_media/{roomId}): every medium the room's events refer to;
// - POST /_synapse/admin/v1/user/{userId}/media/quarantine: every medium a user of ours uploaded;
// - GET /_synapse/admin/v1/room/{roomId}/media: the media a room's events refer to, ours and others';
// - POST /_synapse/admin/v1/media/protect/{mediaId}, and .../unprotect/...: a medium of ours that the
//   room and user quarantines leave out.
// Server admins only.
import { MatrixError } from "../../../core/errors.ts";
import { parseMxcUri } from "../../../core/identifiers/mxc.ts";
import type { Endpoint, MatrixRequest } from "../../../http/endpoint.ts";
import type { MediaRef } from "../../../storage/stores/quarantined-media.ts";
import type { MediaQuarantine } from "../../media/media-quarantine.ts";
import { pathParam, roomIdParam } from "../client/event-params.ts";
import { requesterOf } from "../client/requester.ts";
import { localUserIdParam } from "./admin-params.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

export interface MediaQuarantineSources {
  readonly quarantine: MediaQuarantine;
  readonly serverName: string;
  readonly isAdmin: IsAdmin;
  /** The mxc:// URIs a room's events refer to (events/media-references.ts); undefined for a room not known here. */
  mediaOfRoom(roomId: string): Promise<string[] | undefined>;
  /** The IDs of every medium a user of ours uploaded. */
  mediaIdsOfUser(userId: string): Promise<string[]>;
}

export function mediaQuarantineAdminEndpoints(sources: MediaQuarantineSources): Endpoint[] {
  const { quarantine, serverName, isAdmin } = sources;

  const one = (name: string, action: "quarantine" | "unquarantine"): Endpoint => ({
    name,
    method: "POST",
    paths: [`/_synapse/admin/v1/media/${action}/:serverName/:mediaId`],
    resource: "client",
    auth: "accessToken",
    body: "none",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const ref = mediaRefOf(req);
      if (action === "quarantine") await quarantine.quarantine([ref], requesterOf(req).userId);
      else await quarantine.lift(ref.serverName, ref.mediaId);
      return {};
    },
  });

  const roomMedia = async (req: MatrixRequest): Promise<string[]> => {
    const media = await sources.mediaOfRoom(roomIdParam(req));
    if (media === undefined) throw new MatrixError("M_NOT_FOUND", "Room not found", 404);
    return media;
  };

  const quarantineRoom: Endpoint = {
    name: "admin.quarantine_room_media",
    method: "POST",
    paths: ["/_synapse/admin/v1/room/:roomId/media/quarantine", "/_synapse/admin/v1/quarantine_media/:roomId"],
    resource: "client",
    auth: "accessToken",
    body: "none",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const refs = (await roomMedia(req)).flatMap((uri) => parseMxcUri(uri) ?? []);
      return { num_quarantined: await quarantine.quarantine(refs, requesterOf(req).userId, { ourServer: serverName }) };
    },
  };

  const quarantineUser: Endpoint = {
    name: "admin.quarantine_user_media",
    method: "POST",
    paths: ["/_synapse/admin/v1/user/:userId/media/quarantine"],
    resource: "client",
    auth: "accessToken",
    body: "none",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const ids = await sources.mediaIdsOfUser(localUserIdParam(req, serverName));
      const refs: MediaRef[] = ids.map((mediaId) => ({ serverName, mediaId }));
      return { num_quarantined: await quarantine.quarantine(refs, requesterOf(req).userId, { ourServer: serverName }) };
    },
  };

  const listRoom: Endpoint = {
    name: "admin.room_media",
    method: "GET",
    paths: ["/_synapse/admin/v1/room/:roomId/media"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const media = await roomMedia(req);
      const ours = (uri: string): boolean => parseMxcUri(uri)?.serverName === serverName;
      return { local: media.filter(ours), remote: media.filter((uri) => !ours(uri)) };
    },
  };

  const protection = (name: string, action: "protect" | "unprotect"): Endpoint => ({
    name,
    method: "POST",
    paths: [`/_synapse/admin/v1/media/${action}/:mediaId`],
    resource: "client",
    auth: "accessToken",
    body: "none",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const { mediaId } = mediaRefOf(req, serverName);
      await quarantine.setProtected(mediaId, action === "protect");
      return {};
    },
  });

  return [
    one("admin.quarantine_media", "quarantine"),
    one("admin.unquarantine_media", "unquarantine"),
    quarantineRoom,
    quarantineUser,
    listRoom,
    protection("admin.protect_media", "protect"),
    protection("admin.unprotect_media", "unprotect"),
  ];
}

/** The medium the path names: its server and media ID, or a media ID of `ourServer`. */
function mediaRefOf(req: MatrixRequest, ourServer?: string): MediaRef {
  const uri = `mxc://${ourServer ?? pathParam(req, "serverName")}/${pathParam(req, "mediaId")}`;
  const ref = parseMxcUri(uri);
  if (ref === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a server name and media ID", 400);
  return ref;
}
