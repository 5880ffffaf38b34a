// client-server-api#capabilities-negotiation: capabilities.yaml.
import { ROOM_VERSIONS } from "../../../core/room-versions/room-versions.ts";
import type { JsonObject } from "../../../core/json.ts";
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";

/** The capabilities this server offers every user (server admins get m.account_moderation on top). */
export function capabilities(options: { defaultRoomVersion: string; threepidChanges: boolean }): JsonObject {
  const available: JsonObject = {};
  for (const version of ROOM_VERSIONS.values()) available[version.id] = version.stable ? "stable" : "unstable";
  return {
    "m.change_password": { enabled: true },
    // client-server-api#mroom_versions-capability
    "m.room_versions": { default: options.defaultRoomVersion, available },
    // Deprecated by m.profile_fields, still presented for older clients (capabilities.yaml).
    "m.set_displayname": { enabled: true },
    "m.set_avatar_url": { enabled: true },
    // client-server-api#m3pid_changes-capability: `enable_3pid_changes`, as Synapse presents it.
    "m.3pid_changes": { enabled: options.threepidChanges },
    "m.get_login_token": { enabled: true },
    "m.profile_fields": { enabled: true },
  };
}

export function capabilitiesEndpoint(options: { defaultRoomVersion: string; threepidChanges: boolean; isAdmin: (userId: string) => Promise<boolean> }): Endpoint {
  const everyone = capabilities(options);
  // capabilities.yaml m.account_moderation: for those who may lock and suspend accounts (server
  // admins), and "omitted altogether if suspend and lock would be false".
  const admins = { ...everyone, "m.account_moderation": { lock: true, suspend: true } };
  return {
    name: "client.capabilities",
    method: "GET",
    paths: clientPaths("/capabilities"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({ capabilities: req.requester !== undefined && (await options.isAdmin(req.requester.userId)) ? admins : everyone }),
  };
}
