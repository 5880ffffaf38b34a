// Rooms and membership (issue 5), built from the config: the part of the composition root that
// services.ts calls. Every service of this area, and what it depends on, is written down here.
//
//   Roomserver  <-  MembershipIndex (a consumer of its outputs)  <-  HistoryVisibility
//   Roomserver, MembershipIndex, HistoryVisibility  <-  AliasService, RoomDirectoryService
//   AliasService, ProfileService  <-  MembershipService  <-  RoomCreationService, RoomUpgradeService
//   ProfileService.onChange  ->  MembershipService.propagateProfile
import type { Logger } from "pino";
import type { HomeserverConfig } from "../config/index.ts";
import { stateMapKey } from "../core/events/room-event.ts";
import type { AnyEndpoint } from "../http/endpoint.ts";
import type { RateLimiter } from "../http/rate-limit.ts";
import type { Database } from "../storage/database.ts";
import { AliasStore } from "../storage/stores/aliases.ts";
import { AppserviceRoomDirectoryStore } from "../storage/stores/appservice-room-directory.ts";
import { MembershipStore } from "../storage/stores/memberships.ts";
import { RoomDirectoryStore } from "../storage/stores/room-directory.ts";
import type { AccountServices } from "./accounts.ts";
import { aliasEndpoints } from "./api/client/aliases.ts";
import { directoryEndpoints } from "./api/client/directory.ts";
import { federationPublicRoomsEndpoints } from "./api/federation/public-rooms.ts";
import { federationHierarchyEndpoints } from "./api/federation/hierarchy.ts";
import { membershipEndpoints } from "./api/client/membership.ts";
import { mutualRoomsEndpoints } from "./api/client/mutual-rooms.ts";
import { roomEndpoints } from "./api/client/rooms.ts";
import { roomSummaryEndpoints } from "./api/client/room-summary.ts";
import { hierarchyEndpoints } from "./api/client/hierarchy.ts";
import type { Roomserver } from "./roomserver/index.ts";
import { AliasService } from "./rooms/aliases.ts";
import { RoomDirectoryService } from "./rooms/directory.ts";
import { membershipIndexSource, visibilitySource } from "./rooms/engine-reads.ts";
import { invitesBlockedReader } from "./rooms/invite-permission.ts";
import { MembershipIndex } from "./rooms/membership-index.ts";
import { MembershipService } from "./rooms/membership-service.ts";
import type { RemoteRooms } from "./rooms/remote-joiner.ts";
import { RoomCreationService } from "./rooms/room-creation.ts";
import { RoomSummaryService } from "./rooms/room-summaries.ts";
import { SpaceHierarchyService } from "./rooms/hierarchy.ts";
import { UserDirectoryService } from "./rooms/user-directory.ts";
import { userDirectoryEndpoints } from "./api/client/user-directory.ts";
import { UserDirectoryStore } from "../storage/stores/user-directory.ts";
import { RoomStateReader } from "./rooms/room-state.ts";
import { RoomUpgradeService } from "./rooms/upgrade.ts";
import { settingsTransfer } from "./rooms/upgrade-settings.ts";
import { HistoryVisibility } from "./rooms/visibility.ts";
import { RoomBlocks } from "./rooms/room-blocks.ts";
import { BlockedRoomStore } from "../storage/stores/blocked-rooms.ts";
import { ServerNoticeRoomStore } from "../storage/stores/server-notice-rooms.ts";
import { ThirdPartyInviteService, type IdentityServers } from "./rooms/third-party-invites.ts";
import { thirdPartyOnBindEndpoints } from "./api/federation/third-party-onbind.ts";

export interface RoomServices {
  readonly membershipIndex: MembershipIndex;
  readonly visibility: HistoryVisibility;
  readonly aliases: AliasService;
  readonly directory: RoomDirectoryService;
  readonly membership: MembershipService;
  /** The rooms a server admin blocked. */
  readonly blocks: RoomBlocks;
  /** Each user's server notices room (rooms/server-notices.ts sends the notices). */
  readonly serverNoticeRooms: ServerNoticeRoomStore;
  readonly creation: RoomCreationService;
  /** Invites by 3PID and their redemption (/3pid/onbind); absent without identity servers to ask. */
  readonly thirdPartyInvites: ThirdPartyInviteService | undefined;
  readonly upgrades: RoomUpgradeService;
  readonly states: RoomStateReader;
  /** The space hierarchy (client and federation /hierarchy); its federation side is plugged in with useRemote. */
  readonly hierarchy: SpaceHierarchyService;
  readonly endpoints: readonly AnyEndpoint[];
  /**
   * Plugs in the federation side (remote joins, invites, knocks, leaves, alias queries) once it is
   * built: it needs the membership index, so it comes after this area. Replaces what was there.
   */
  connectRemote(remote: RemoteRooms): void;
  /** Settles once the guests that the room's guest-access changes so far remove have left it. */
  guestsRemoved(roomId: string): Promise<void>;
  /** Applies what the index has queued; call after the roomserver closed, before the database. */
  close(): Promise<void>;
}

export interface RoomServicesDeps {
  readonly config: HomeserverConfig;
  readonly db: Database;
  readonly logger: Logger;
  readonly roomserver: Roomserver;
  readonly accounts: AccountServices;
  readonly rateLimiters: ReadonlyMap<string, RateLimiter>;
  readonly remote?: RemoteRooms;
  /** Whether a server admin shadow-banned the user (users/shadow-bans.ts): their invites are sent nowhere. */
  readonly shadowBanned?: (userId: string) => boolean;
  /** The identity servers clients name for invites by 3PID (client-server-api#third-party-invites). */
  readonly identityServers?: IdentityServers;
}

export async function createRoomServices(options: RoomServicesDeps): Promise<RoomServices> {
  const { config, db, logger, roomserver, accounts } = options;
  const log = logger.child({ component: "rooms" });
  const onError = (err: unknown, what: string): void => log.error({ err }, what);
  let remote: RemoteRooms = options.remote ?? {};
  const isAdmin = (userId: string): Promise<boolean> => accounts.users.isAdmin(userId);

  const states = new RoomStateReader(roomserver);
  // The user directory's rows of the users whose memberships changed are rewritten once the
  // membership index has marked them stale, in the background.
  const userDirectory = new UserDirectoryService({ store: new UserDirectoryStore(db), states, onError });
  const membershipIndex = new MembershipIndex(new MembershipStore(db), membershipIndexSource(roomserver), { onError, onChanged: () => userDirectory.refreshSoon() });
  const visibility = new HistoryVisibility(visibilitySource(roomserver), membershipIndex);
  const aliases = new AliasService({
    serverName: config.serverName,
    store: new AliasStore(db),
    states,
    membershipIndex,
    visibility,
    roomserver,
    isAdmin,
    remote: () => remote,
  });
  const directory = new RoomDirectoryService({
    store: new RoomDirectoryStore(db),
    networks: new AppserviceRoomDirectoryStore(db),
    states,
    membershipIndex,
    visibility,
    isAdmin,
  });
  const transferSettings = settingsTransfer({
    pushRules: (userId) => accounts.pushRules.ruleset(userId),
    changePushRules: (userId, change) => accounts.pushRules.change(userId, change),
    roomAccountData: (userId, roomId, type) => accounts.accountData.getServerManaged(userId, roomId, type),
    putRoomAccountData: async (userId, roomId, type, content) => {
      await accounts.accountData.putServerManaged(userId, roomId, type, content);
    },
  });
  const blocks = new RoomBlocks(new BlockedRoomStore(db));
  await blocks.load();
  const serverNoticeRooms = new ServerNoticeRoomStore(db);
  const membership = new MembershipService({
    serverName: config.serverName,
    roomserver,
    states,
    membershipIndex,
    aliases,
    profiles: accounts.profiles,
    remote: () => remote,
    invitesBlocked: invitesBlockedReader(accounts.accountData),
    checkNotBlocked: (roomId) => blocks.check(roomId),
    transferSettings,
    isGuest: async (userId) => (await accounts.users.getUser(userId))?.guest === true,
    ...(options.shadowBanned === undefined ? {} : { shadowBanned: options.shadowBanned }),
    ...(config.serverNotices === undefined ? {} : { isServerNoticeRoom: (userId: string, roomId: string) => serverNoticeRooms.isRoomOf(userId, roomId) }),
    onError,
  });
  const identityServers = options.identityServers;
  const thirdPartyInvites =
    identityServers === undefined
      ? undefined
      : new ThirdPartyInviteService({
          serverName: config.serverName,
          roomserver,
          states,
          membershipIndex,
          membership,
          identityServers,
          remote: () => remote,
          userExists: async (userId) => (await accounts.users.getUser(userId)) !== undefined,
          checkNotBlocked: (roomId) => blocks.check(roomId),
          ...(options.shadowBanned === undefined ? {} : { shadowBanned: options.shadowBanned }),
          onError: (err, what) => log.warn({ err }, what),
        });
  const creation = new RoomCreationService({
    serverName: config.serverName,
    defaultRoomVersion: config.defaultRoomVersion,
    roomserver,
    membershipIndex,
    membership,
    aliases,
    directory,
    ...(thirdPartyInvites === undefined ? {} : { thirdPartyInvites }),
  });
  const upgrades = new RoomUpgradeService({ roomserver, states, membershipIndex, aliases, directory, transferSettings, onError });
  accounts.profiles.onChange((change) => membership.propagateProfile(change.userId, change.key, change.profile));
  // modules/guest_access.md: a change of m.room.guest_access away from can_join removes the room's guests.
  // The removals in progress, one chain a room.
  const guestRemovals = new Map<string, Promise<void>>();
  const guestAccessKey = stateMapKey("m.room.guest_access", "");
  const unsubscribeGuests = roomserver.subscribe((output) => {
    if (output.kind !== "new_room_event" || !output.stateDelta.has(guestAccessKey)) return;
    const { roomId } = output;
    const removal: Promise<void> = (guestRemovals.get(roomId) ?? Promise.resolve())
      .then(() => membershipIndex.waitUntil(output.streamOrdering))
      .then(() => membership.removeGuests(roomId))
      .catch((err: unknown) => onError(err, `removing the guests of ${roomId}`))
      .finally(() => {
        if (guestRemovals.get(roomId) === removal) guestRemovals.delete(roomId);
      });
    guestRemovals.set(roomId, removal);
  });
  // The user directory searches rooms with a public join rule or world_readable history: it hears of changes to either.
  const openingKeys = [stateMapKey("m.room.join_rules", ""), stateMapKey("m.room.history_visibility", "")];
  const unsubscribeDirectory = roomserver.subscribe((output) => {
    if (output.kind === "new_room_event" && openingKeys.some((key) => output.stateDelta.has(key))) userDirectory.roomChanged(output.roomId);
  });

  const hierarchy = new SpaceHierarchyService({ serverName: config.serverName, states, directory, membershipIndex });

  await membershipIndex.start();
  // What the last run (or the upgrade to the directory's tables) left stale.
  userDirectory.refreshSoon();
  return {
    membershipIndex,
    visibility,
    aliases,
    directory,
    membership,
    blocks,
    serverNoticeRooms,
    creation,
    thirdPartyInvites,
    upgrades,
    states,
    hierarchy,
    endpoints: [
      ...roomEndpoints({ creation, membership, upgrades }),
      ...membershipEndpoints(membership, thirdPartyInvites),
      ...(thirdPartyInvites === undefined ? [] : thirdPartyOnBindEndpoints(thirdPartyInvites)),
      ...mutualRoomsEndpoints(membership),
      ...roomSummaryEndpoints(new RoomSummaryService({ states, directory, aliases, membershipIndex, remote: () => hierarchy.remote })),
      ...hierarchyEndpoints(hierarchy),
      ...federationHierarchyEndpoints(hierarchy),
      ...userDirectoryEndpoints(userDirectory),
      ...aliasEndpoints(aliases),
      ...directoryEndpoints(directory, config.serverName, () => remote.directory),
      ...federationPublicRoomsEndpoints(directory, config.allowPublicRoomsOverFederation),
    ],
    connectRemote: (next) => {
      remote = next;
    },
    guestsRemoved: async (roomId) => {
      await guestRemovals.get(roomId);
    },
    close: async () => {
      unsubscribeGuests();
      unsubscribeDirectory();
      await Promise.all(guestRemovals.values());
      await membershipIndex.close();
      await userDirectory.close();
    },
  };
}
