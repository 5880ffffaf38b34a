// The accounts at Synapse's admin API, so that the admin tools written for Synapse (its web
// interface, synadm) manage Weft's users too: the server's version; pages of the accounts, with
// filters and an order; one account; creating or changing an account; resetting a password;
// deactivating an account; making a user a server admin or not; whether a username is free; a
// user's devices (listed, renamed, deleted), joined rooms, account data and pushers. Server admins
// only, but the version, which Synapse answers to anyone.
import { MatrixError } from "../../../core/errors.ts";
import { isEmailAddress, isThreepidMedium, type ThreepidMedium } from "../../../core/identifiers/threepid.ts";
import { isJsonObject, type JsonObject } from "../../../core/json.ts";
import { HttpReply, actingAs, type Endpoint, type MatrixRequest, type Requester } from "../../../http/endpoint.ts";
import type { AccountDataEntry } from "../../../storage/stores/account-data.ts";
import type { Device } from "../../../storage/stores/devices.ts";
import type { User, UserListOrder, UserListQuery } from "../../../storage/stores/users.ts";
import type { DeviceService } from "../../devices/device-service.ts";
import type { AccountDataService } from "../../account-data/account-data-service.ts";
import type { ProfileService } from "../../profile/profile-service.ts";
import type { RegistrationService } from "../../users/registration.ts";
import type { AccountRestrictions } from "../../users/account-restrictions.ts";
import type { AccountService } from "../../users/account-service.ts";
import type { ThreepidService } from "../../users/threepid-service.ts";
import type { UserService } from "../../users/user-service.ts";
import { deviceJson } from "../client/devices.ts";
import { directionParam, limitParam, pathParam } from "../client/event-params.ts";
import { queryParam, requesterOf } from "../client/requester.ts";
import { weftVersion } from "../federation/version.ts";
import { adminPageLimit, booleanParam, localUserIdParam, optionalFilter, orderParam } from "./admin-params.ts";
import { requireAdmin } from "./require-admin.ts";
import type { ExternalIdStore } from "../../../storage/stores/external-ids.ts";

export interface UserAdminSources {
  readonly serverName: string;
  readonly users: UserService;
  readonly accounts: AccountService;
  readonly devices: DeviceService;
  readonly locks: AccountRestrictions;
  readonly suspensions: AccountRestrictions;
  readonly profiles: ProfileService;
  readonly registration: RegistrationService;
  readonly accountData: Pick<AccountDataService, "changesSince">;
  /** The user's pushers, as GET /pushers lists them. */
  readonly pushers: (userId: string) => JsonObject[];
  /** The rooms the user is joined to. */
  readonly joinedRooms: (userId: string) => Promise<string[]>;
  /** Whether a server admin shadow-banned the user (users/shadow-bans.ts). */
  readonly isShadowBanned: (userId: string) => boolean;
  /** The accounts' 3PIDs (users/threepid-service.ts). */
  readonly threepids: Pick<ThreepidService, "list" | "setForAdmin">;
  /** Which accounts SSO providers' users are (storage/stores/external-ids.ts). */
  readonly externalIds: Pick<ExternalIdStore, "forUser" | "setForUser" | "userFor">;
}

/** Account data entries read at once. */
const ACCOUNT_DATA_PAGE = 1000;

const ORDERS: ReadonlySet<string> = new Set<UserListOrder>(["name", "is_guest", "admin", "deactivated", "displayname", "avatar_url", "creation_ts"]);

export function userAdminEndpoints(sources: UserAdminSources): Endpoint[] {
  const { users } = sources;
  const isAdmin = (userId: string): Promise<boolean> => users.isAdmin(userId);

  const serverVersion: Endpoint = {
    name: "admin.server_version",
    method: "GET",
    paths: ["/_synapse/admin/v1/server_version"],
    resource: "client",
    auth: "none",
    handler: async () => ({ server_version: `Weft ${weftVersion()}` }),
  };

  const list: Endpoint = {
    name: "admin.list_users",
    method: "GET",
    paths: ["/_synapse/admin/v2/users"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const limit = adminPageLimit(req);
      const admins = booleanParam(req, "admins");
      const query: UserListQuery = {
        offset: limitParam(req, 0, Number.MAX_SAFE_INTEGER, "from"),
        limit,
        ...optionalFilter(req, "user_id", "userIdContains"),
        ...optionalFilter(req, "name", "nameContains"),
        includeGuests: booleanParam(req, "guests") ?? true,
        includeDeactivated: booleanParam(req, "deactivated") ?? false,
        ...(admins === undefined ? {} : { admins }),
        orderBy: orderParam<UserListOrder>(req, ORDERS, "name"),
        direction: directionParam(req, "f"),
      };
      const page = await users.listUsers(query);
      const out: JsonObject = { users: page.users.map((user) => userJson(sources, user, user.erased)), total: page.total };
      // The offset of the next page, a string as Synapse gives it.
      if (query.offset + page.users.length < page.total) out["next_token"] = String(query.offset + page.users.length);
      return out;
    },
  };

  const get: Endpoint = {
    name: "admin.get_user",
    method: "GET",
    paths: ["/_synapse/admin/v2/users/:userId"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return await userDetails(sources, await localUser(sources, req));
    },
  };

  const put: Endpoint<JsonObject> = {
    name: "admin.put_user",
    method: "PUT",
    paths: ["/_synapse/admin/v2/users/:userId"],
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: {
        password: { type: "string", minLength: 1, maxLength: 512 },
        logout_devices: { type: "boolean" },
        displayname: { type: "string" },
        avatar_url: { type: "string" },
        admin: { type: "boolean" },
        deactivated: { type: "boolean" },
        locked: { type: "boolean" },
        user_type: { type: ["string", "null"] },
        threepids: { type: "array" },
        external_ids: { type: "array" },
      },
    },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const userId = localUserIdParam(req, sources.serverName);
      const body = req.body;
      // Checked before anything changes, so that a bad entry leaves a new account unmade.
      if (body["threepids"] !== undefined) adminThreepids(body["threepids"]);
      if (body["external_ids"] !== undefined) adminExternalIds(body["external_ids"]);
      // Synapse's user types (support, bot) are not kept either.
      if (typeof body["user_type"] === "string") throw new MatrixError("M_INVALID_PARAM", "user_type is not supported by this server", 400);
      const password = body["password"] as string | undefined;
      const requester = requesterOf(req);
      const existing = await users.getUser(userId);
      if (existing === undefined) {
        await users.register({
          // A localpart holds no colon (appendices#user-identifiers).
          localpart: userId.slice(1, userId.indexOf(":")),
          password,
          admin: body["admin"] === true,
          ...(typeof body["displayname"] === "string" ? { displayname: body["displayname"] } : {}),
          inhibitLogin: true,
        });
        // The rest of the body, as for an account that was there; the password, display name and flag are set.
        const rest = Object.fromEntries(Object.entries(body).filter(([key]) => !["password", "displayname", "admin"].includes(key)));
        await applyChanges(sources, requester, userId, rest, false);
        return HttpReply.json(201, await userDetails(sources, await mustGet(users, userId)));
      }
      if (body["deactivated"] === false && existing.deactivated && password === undefined) {
        throw new MatrixError("M_INVALID_PARAM", "Must provide a password to re-activate an account", 400);
      }
      if (body["admin"] === false) refuseSelfDemotion(requester, userId);
      await applyChanges(sources, requester, userId, body, existing.deactivated);
      return await userDetails(sources, await mustGet(users, userId));
    },
  };

  const resetPassword: Endpoint<JsonObject> = {
    name: "admin.reset_password",
    method: "POST",
    paths: ["/_synapse/admin/v1/reset_password/:userId"],
    resource: "client",
    auth: "accessToken",
    // As POST /account/password takes a new password.
    schema: {
      type: "object",
      required: ["new_password"],
      properties: { new_password: { type: "string", minLength: 1, maxLength: 512 }, logout_devices: { type: "boolean" } },
    },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const user = await localUser(sources, req);
      if (user.deactivated) throw new MatrixError("M_INVALID_PARAM", "The account is deactivated", 400);
      await sources.accounts.setPassword(user.userId, req.body["new_password"] as string, req.body["logout_devices"] !== false);
      return {};
    },
  };

  const deactivate: Endpoint<JsonObject> = {
    name: "admin.deactivate_user",
    method: "POST",
    paths: ["/_synapse/admin/v1/deactivate/:userId"],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { erase: { type: "boolean" } } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const user = await localUser(sources, req);
      const result = await sources.accounts.deactivateAccount(user.userId, req.body["erase"] === true);
      return { id_server_unbind_result: result.idServerUnbindResult };
    },
  };

  const getAdmin: Endpoint = {
    name: "admin.get_user_admin",
    method: "GET",
    paths: ["/_synapse/admin/v1/users/:userId/admin"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return { admin: (await localUser(sources, req)).admin };
    },
  };

  const setAdmin: Endpoint<JsonObject> = {
    name: "admin.set_user_admin",
    method: "PUT",
    paths: ["/_synapse/admin/v1/users/:userId/admin"],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["admin"], properties: { admin: { type: "boolean" } } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const user = await localUser(sources, req);
      const admin = req.body["admin"] as boolean;
      if (!admin) refuseSelfDemotion(requesterOf(req), user.userId);
      await users.setAdmin(user.userId, admin);
      return {};
    },
  };

  const usernameAvailable: Endpoint = {
    name: "admin.username_available",
    method: "GET",
    paths: ["/_synapse/admin/v1/username_available"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const username = queryParam(req, "username");
      if (username === undefined || username === "") throw new MatrixError("M_MISSING_PARAM", "Missing parameter: username", 400);
      // As GET /register/available answers (M_INVALID_USERNAME, M_USER_IN_USE, M_EXCLUSIVE), registration enabled or not.
      await sources.registration.checkAvailableForAdmin(username);
      return { available: true };
    },
  };

  // Synapse's "find a user based on their ID in an auth provider".
  const byExternalId: Endpoint = {
    name: "admin.user_by_external_id",
    method: "GET",
    paths: ["/_synapse/admin/v1/auth_providers/:provider/users/:externalId"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const userId = await sources.externalIds.userFor(pathParam(req, "provider"), pathParam(req, "externalId"));
      if (userId === undefined) throw new MatrixError("M_NOT_FOUND", "User not found", 404);
      return { user_id: userId };
    },
  };

  const joinedRooms: Endpoint = {
    name: "admin.user_joined_rooms",
    method: "GET",
    paths: ["/_synapse/admin/v1/users/:userId/joined_rooms"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const rooms = await sources.joinedRooms((await localUser(sources, req)).userId);
      return { joined_rooms: rooms, total: rooms.length };
    },
  };

  const accountData: Endpoint = {
    name: "admin.user_account_data",
    method: "GET",
    paths: ["/_synapse/admin/v1/users/:userId/accountdata"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const userId = (await localUser(sources, req)).userId;
      const global: JsonObject = {};
      const rooms: Record<string, JsonObject> = {};
      // Each (room, type) once, at its latest change: read in pages of the account data stream.
      for (let since = 0; ; ) {
        const page = await sources.accountData.changesSince(userId, since, ACCOUNT_DATA_PAGE);
        for (const entry of page) {
          if (entry.roomId === undefined) global[entry.type] = entry.content;
          else (rooms[entry.roomId] ??= {})[entry.type] = entry.content;
        }
        if (page.length < ACCOUNT_DATA_PAGE) break;
        since = (page.at(-1) as AccountDataEntry).streamId;
      }
      return { account_data: { global, rooms } };
    },
  };

  const pushers: Endpoint = {
    name: "admin.user_pushers",
    method: "GET",
    paths: ["/_synapse/admin/v1/users/:userId/pushers"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const found = sources.pushers((await localUser(sources, req)).userId);
      return { pushers: found, total: found.length };
    },
  };

  return [serverVersion, list, get, put as Endpoint, accountData, pushers, resetPassword as Endpoint, deactivate as Endpoint, getAdmin, setAdmin as Endpoint, usernameAvailable, byExternalId, joinedRooms, ...deviceEndpoints(sources, isAdmin)];
}

/** A user's devices at /_synapse/admin/v2/users/{userId}/devices: what the user's own device API does, without UIA. */
function deviceEndpoints(sources: UserAdminSources, isAdmin: (userId: string) => Promise<boolean>): Endpoint[] {
  const { devices } = sources;
  const base = "/_synapse/admin/v2/users/:userId";
  const adminDeviceJson = (device: Device): JsonObject => ({ ...deviceJson(device), last_seen_user_agent: device.lastSeenUserAgent });

  const list: Endpoint = {
    name: "admin.user_devices",
    method: "GET",
    paths: [`${base}/devices`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const found = await devices.listDevices((await localUser(sources, req)).userId);
      return { devices: found.map(adminDeviceJson), total: found.length };
    },
  };

  const get: Endpoint = {
    name: "admin.user_device",
    method: "GET",
    paths: [`${base}/devices/:deviceId`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return adminDeviceJson(await devices.getDevice((await localUser(sources, req)).userId, pathParam(req, "deviceId")));
    },
  };

  const rename: Endpoint<JsonObject> = {
    name: "admin.update_user_device",
    method: "PUT",
    paths: [`${base}/devices/:deviceId`],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { display_name: { type: "string" } } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const displayName = req.body["display_name"] as string | undefined;
      await devices.updateDevice((await localUser(sources, req)).userId, pathParam(req, "deviceId"), { displayName });
      return {};
    },
  };

  const remove: Endpoint = {
    name: "admin.delete_user_device",
    method: "DELETE",
    paths: [`${base}/devices/:deviceId`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      // As DELETE /devices/{deviceId}: a device already gone is no error.
      await devices.deleteDevices((await localUser(sources, req)).userId, [pathParam(req, "deviceId")]);
      return {};
    },
  };

  const removeMany: Endpoint<JsonObject> = {
    name: "admin.delete_user_devices",
    method: "POST",
    paths: [`${base}/delete_devices`],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["devices"], properties: { devices: { type: "array", items: { type: "string" } } } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      await devices.deleteDevices((await localUser(sources, req)).userId, req.body["devices"] as string[]);
      return {};
    },
  };

  return [list, get, rename as Endpoint, remove, removeMany as Endpoint];
}

/** As Synapse: a server is never left without the admin who asks, whichever endpoint is asked. */
function refuseSelfDemotion(requester: Requester, userId: string): void {
  if (userId === requester.userId) throw new MatrixError("M_INVALID_PARAM", "You may not demote yourself", 400);
}

/** The account of the path's user, who must be ours and exist (deactivated ones included). */
async function localUser(sources: UserAdminSources, req: MatrixRequest): Promise<User> {
  return await mustGet(sources.users, localUserIdParam(req, sources.serverName));
}

async function mustGet(users: UserService, userId: string): Promise<User> {
  const user = await users.getUser(userId);
  if (user === undefined) throw new MatrixError("M_NOT_FOUND", "User not found", 404);
  return user;
}

/**
 * What PUT /_synapse/admin/v2/users/{userId} changes of an account, each only when given: the
 * password (its devices logged out unless `logout_devices` is false), reactivation (which takes the
 * password), the profile (announced in the user's rooms, as the user's own change is), the admin
 * flag, the lock, and deactivation.
 */
async function applyChanges(sources: UserAdminSources, requester: Requester, userId: string, body: JsonObject, wasDeactivated: boolean): Promise<void> {
  const password = body["password"] as string | undefined;
  if (body["deactivated"] === false && wasDeactivated && password !== undefined) await sources.users.reactivate(userId, password);
  else if (password !== undefined) await sources.accounts.setPassword(userId, password, body["logout_devices"] !== false);
  // As the user's own change: the profile service announces it in the user's rooms.
  const self = actingAs(userId);
  for (const key of ["displayname", "avatar_url"]) {
    if (typeof body[key] === "string") await sources.profiles.setField(self, userId, key, { [key]: body[key] });
  }
  if (typeof body["admin"] === "boolean") await sources.users.setAdmin(userId, body["admin"]);
  if (typeof body["locked"] === "boolean") await sources.locks.set(requester, userId, body["locked"]);
  // Synapse's `threepids`: the account's 3PIDs become exactly these (none are unbound from identity servers).
  if (body["threepids"] !== undefined) await sources.threepids.setForAdmin(userId, adminThreepids(body["threepids"]));
  // Synapse's `external_ids`: the account becomes the SSO providers' user of exactly these; 409 when another account is one of them.
  if (body["external_ids"] !== undefined) {
    const taken = await sources.externalIds.setForUser(userId, adminExternalIds(body["external_ids"]), Date.now());
    if (taken !== undefined) throw new MatrixError("M_UNKNOWN", `External ID ${taken.externalId} of ${taken.authProvider} is already another account's`, 409);
  }
  // Last: the lock (above) is for accounts that are active.
  if (body["deactivated"] === true && !wasDeactivated) await sources.accounts.deactivateAccount(userId, false);
}

/** The `threepids` of an admin's PUT: `[{medium, address}]`, email addresses valid ones. */
function adminThreepids(value: unknown): Array<{ medium: ThreepidMedium; address: string }> {
  if (!Array.isArray(value)) throw new MatrixError("M_INVALID_PARAM", "threepids must be a list", 400);
  return value.map((item, i) => {
    const medium = isJsonObject(item) ? item["medium"] : undefined;
    const address = isJsonObject(item) ? item["address"] : undefined;
    if (!isThreepidMedium(medium) || typeof address !== "string") throw new MatrixError("M_INVALID_PARAM", `threepids[${i}] must have a medium (email or msisdn) and an address`, 400);
    if (medium === "email" && !isEmailAddress(address.trim())) throw new MatrixError("M_INVALID_PARAM", `threepids[${i}].address is not an email address`, 400);
    return { medium, address };
  });
}

/** The `external_ids` of an admin's PUT: `[{auth_provider, external_id}]` (auth_provider as clients see it, e.g. oidc-github). */
function adminExternalIds(value: unknown): Array<{ authProvider: string; externalId: string }> {
  if (!Array.isArray(value)) throw new MatrixError("M_INVALID_PARAM", "external_ids must be a list", 400);
  return value.map((item, i) => {
    const authProvider = isJsonObject(item) ? item["auth_provider"] : undefined;
    const externalId = isJsonObject(item) ? item["external_id"] : undefined;
    if (typeof authProvider !== "string" || authProvider === "" || typeof externalId !== "string" || externalId === "") {
      throw new MatrixError("M_INVALID_PARAM", `external_ids[${i}] must have an auth_provider and an external_id`, 400);
    }
    return { authProvider, externalId };
  });
}

/** GET /_synapse/admin/v2/users/{userId}: what Synapse says of one account. */
async function userDetails(sources: UserAdminSources, user: User): Promise<JsonObject> {
  const lastSeen = Math.max(...(await sources.devices.listDevices(user.userId)).map((d) => d.lastSeenTs ?? 0), 0);
  return {
    ...userJson(sources, user, await sources.users.isErased(user.userId)),
    threepids: await sources.threepids.list(user.userId),
    external_ids: (await sources.externalIds.forUser(user.userId)).map((e) => ({ auth_provider: e.authProvider, external_id: e.externalId })),
    appservice_id: null,
    consent_server_notice_sent: null,
    consent_version: null,
    consent_ts: null,
    last_seen_ts: lastSeen === 0 ? null : lastSeen,
  };
}

/** What Synapse's admin API says of an account. */
function userJson(sources: UserAdminSources, user: User, erased: boolean): JsonObject {
  return {
    name: user.userId,
    displayname: user.displayname,
    avatar_url: user.avatarUrl,
    is_guest: user.guest,
    admin: user.admin,
    deactivated: user.deactivated,
    erased,
    shadow_banned: sources.isShadowBanned(user.userId),
    locked: sources.locks.isRestricted(user.userId),
    suspended: sources.suspensions.isRestricted(user.userId),
    approved: true,
    user_type: null,
    creation_ts: user.createdTs,
  };
}
