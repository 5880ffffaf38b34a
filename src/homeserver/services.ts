import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { HomeserverConfig } from "../config/index.ts";
import { loadOrCreateSigningKey } from "../config/index.ts";
import { actingAs, type AnyEndpoint } from "../http/endpoint.ts";
import type { HttpDeps } from "../http/app.ts";
import { RateLimiter } from "../http/rate-limit.ts";
import { FederationRateLimiter } from "../http/federation-rate-limit.ts";
import { openDatabase, type Database } from "../storage/index.ts";
import { createAccountServices, type AccountServices } from "./accounts.ts";
import { sharedSecretRegisterEndpoints } from "./api/admin/register.ts";
import { versionsEndpoint } from "./api/client/versions.ts";
import { wellKnownEndpoints } from "./api/client/well-known.ts";
import { healthEndpoint } from "../http/health.ts";
import { federationVersionEndpoint } from "./api/federation/version.ts";
import { keyQueryEndpoints } from "./api/keys/key-query.ts";
import { serverKeyEndpoints } from "./api/keys/server-keys.ts";
import { createFederation, type Federation } from "./federation/federation.ts";
import { userDevicesFetcher } from "./federation/remote-e2ee.ts";
import { connectEphemeralEdus } from "./federation/ephemeral-edus.ts";
import { ServerKeyPublisher } from "./federation/server-keys.ts";
import { FederationPolicyServers } from "./federation/policy-servers.ts";
import { Roomserver } from "./roomserver/index.ts";
import { RemoteProfiles } from "./profile/remote-profiles.ts";
import { createRoomServices, type RoomServices } from "./rooms.ts";
import { cachedIgnoredUsersReader, createEventServices, type EventServices } from "./events.ts";
import type { UserService } from "./users/user-service.ts";
import { createE2eeServices, type E2eeServices } from "./e2ee.ts";
import { Notifier } from "./sync/notifier.ts";
import { createFederationRoomServices, type FederationRoomServices } from "./federation-rooms.ts";
import { createSyncServices, type SyncServices } from "./sync.ts";
import { OpenidTokenStore } from "../storage/stores/openid-tokens.ts";
import { OpenidTokens } from "./users/openid-tokens.ts";
import { openidRequestTokenEndpoint } from "./api/client/openid.ts";
import { openidUserInfoEndpoint } from "./api/federation/openid.ts";
import { supportWellKnownEndpoint } from "./api/client/support.ts";
import { voipEndpoints } from "./api/client/voip.ts";
import { thirdPartyEndpoints } from "./api/client/thirdparty.ts";
import { reportingEndpoints } from "./api/client/reporting.ts";
import { eventReportAdminEndpoints } from "./api/admin/event-reports.ts";
import { roomReportAdminEndpoints } from "./api/admin/room-reports.ts";
import { userRedactionAdminEndpoints } from "./api/admin/user-redaction.ts";
import { serverNoticeAdminEndpoints } from "./api/admin/server-notices.ts";
import { ServerNotices } from "./rooms/server-notices.ts";
import { ShadowBans, fakeEventId } from "./users/shadow-bans.ts";
import { shadowBanAdminEndpoints } from "./api/admin/shadow-bans.ts";
import { loginAsAdminEndpoints } from "./api/admin/login-as.ts";
import { roomMessagesAdminEndpoints } from "./api/admin/room-messages.ts";
import { ShadowBanStore } from "../storage/stores/shadow-bans.ts";
import { mediaQuarantineAdminEndpoints } from "./api/admin/media-quarantine.ts";
import { MediaQuarantine } from "./media/media-quarantine.ts";
import { mediaOfRoom } from "./media/room-media.ts";
import { QuarantinedMediaStore } from "../storage/stores/quarantined-media.ts";
import { userAdminEndpoints } from "./api/admin/users.ts";
import { roomAdminEndpoints } from "./api/admin/rooms.ts";
import { mediaAdminEndpoints } from "./api/admin/media.ts";
import { pusherJson } from "../core/push/pusher.ts";
import { UserRedactions } from "./events/user-redaction.ts";
import { AdminRedactionStore } from "../storage/stores/admin-redactions.ts";
import { RoomTimelineStore } from "../storage/stores/room-timeline.ts";
import type { Membership } from "./rooms/membership-index.ts";
import type { RoomStateReader } from "./rooms/room-state.ts";
import { ReportService } from "./reporting/report-service.ts";
import { ReportStore } from "../storage/stores/reports.ts";
import { MediaStore } from "../storage/stores/media.ts";
import { RemoteMediaStore } from "../storage/stores/remote-media.ts";
import { MediaService } from "./media/media-service.ts";
import { FederationRemoteMedia } from "./media/remote-media.ts";
import { MediaRetention } from "./media/media-retention.ts";
import { Thumbnailer } from "./media/thumbnailer.ts";
import { mediaEndpoints } from "./api/media/media.ts";
import { previewUrlEndpoints } from "./api/media/preview-url.ts";
import { UrlPreviewer } from "./media/url-preview/url-previewer.ts";
import { federationMediaEndpoints } from "./api/media/federation-media.ts";
import { createPushServices, type PushServices } from "./push.ts";
import { createAppserviceServices } from "./appservices/index.ts";
import { IdentityServerClient } from "./identity-servers/identity-server-client.ts";
import { checkKeyValid } from "./rooms/third-party-invites.ts";

// The composition root (ARCHITECTURE.md): every service is built here, explicitly, from the config.

export interface Services {
  readonly config: HomeserverConfig;
  readonly db: Database;
  readonly serverKeys: ServerKeyPublisher;
  readonly federation: Federation;
  /** Identity servers, as the clients name them (identity/identity-server-client.ts). */
  readonly identityServers: IdentityServerClient;
  readonly roomserver: Roomserver;
  readonly users: UserService;
  readonly accounts: AccountServices;
  readonly rooms: RoomServices;
  readonly events: EventServices;
  readonly e2ee: E2eeServices;
  readonly federationRooms: FederationRoomServices;
  readonly sync: SyncServices;
  /** The local media repository (client-server-api#content-repository). */
  readonly media: MediaService;
  /** media_retention: media accesses written in batches, media not accessed within a lifetime purged. */
  readonly mediaRetention: MediaRetention;
  /** Pushers and push notification delivery (modules/push.md). */
  readonly push: PushServices;
  readonly http: HttpDeps;
  close(): Promise<void>;
}

function rateLimiters(config: HomeserverConfig): Map<string, RateLimiter> {
  const rc = config.rateLimits;
  return new Map([
    ["rc_message", new RateLimiter(rc.message)],
    ["rc_registration", new RateLimiter(rc.registration)],
    ["rc_login_address", new RateLimiter(rc.login.address)],
    ["rc_login_account", new RateLimiter(rc.login.account)],
    ["rc_login_failed_attempts", new RateLimiter(rc.login.failedAttempts)],
    ["rc_joins_local", new RateLimiter(rc.joins.local)],
    ["rc_joins_remote", new RateLimiter(rc.joins.remote)],
    ["rc_media_create", new RateLimiter(rc.mediaCreate)],
    ["rc_3pid_validation", new RateLimiter(rc.threepidValidation)],
  ]);
}

/** OpenID tokens for third parties (client-server-api#openid): asked for by clients, checked over federation. */
function openidEndpoints(tokens: OpenidTokens): AnyEndpoint[] {
  return [openidRequestTokenEndpoint(tokens) as AnyEndpoint, openidUserInfoEndpoint(tokens)];
}

/**
 * Reporting content (modules/report_content.md): reports are checked against what the reporter may
 * see, and stored; server admins read the reports of events and of rooms at Synapse's admin API.
 */
function reportEndpoints(config: HomeserverConfig, db: Database, roomserver: Roomserver, events: EventServices, users: UserService, states: RoomStateReader): AnyEndpoint[] {
  const store = new ReportStore(db);
  const reports = new ReportService({
    serverName: config.serverName,
    store,
    roomKnown: async (roomId) => (await roomserver.roomVersion(roomId)) !== undefined,
    membershipOf: (roomId, userId) => events.access.membershipOf(roomId, userId),
    visibleEvent: (userId, roomId, eventId) => events.access.visibleEvent(userId, roomId, eventId),
    localUserExists: (userId) => users.isUserIdTaken(userId),
  });
  return [
    ...reportingEndpoints(reports),
    ...eventReportAdminEndpoints({ store, states, getEvent: (eventId) => roomserver.getEvent(eventId), isAdmin: (userId) => users.isAdmin(userId) }),
    ...roomReportAdminEndpoints({ store, states, isAdmin: (userId) => users.isAdmin(userId) }),
  ];
}

export async function createServices(config: HomeserverConfig, logger: Logger): Promise<Services> {
  // The data folders are created on first start (media, and the SQLite database's folder).
  await mkdir(config.mediaStorePath, { recursive: true });
  if (config.database.engine === "sqlite" && config.database.path !== ":memory:") {
    await mkdir(dirname(config.database.path), { recursive: true });
  }
  const signingKeys = await loadOrCreateSigningKey(config.signingKeyPath);
  const db = await openDatabase(config.database, { logger: logger.child({ component: "storage" }) });

  const serverKeys = new ServerKeyPublisher(config.serverName, signingKeys);
  const federation = await createFederation({ config, db, serverKeys, logger });
  const identityServers = new IdentityServerClient({ transport: federation.transport, serverName: config.serverName, signingKey: serverKeys.signingKey });
  const roomserver = new Roomserver({
    db,
    serverName: config.serverName,
    signingKey: serverKeys.signingKey,
    keyRing: federation.keyring,
    logger: logger.child({ component: "roomserver" }),
    policyServers: new FederationPolicyServers(federation.client),
  });
  // Redacted events' original content is purged after the retention (Synapse's default: 7 days).
  const purgeTimer = setInterval(() => {
    roomserver.purgeRedactedContent().catch((error: unknown) => logger.error({ err: error }, "purging redacted content failed"));
  }, 60 * 60 * 1000);
  purgeTimer.unref();
  const limiters = rateLimiters(config);
  const accounts = await createAccountServices({ config, db, logger, rateLimiters: limiters, identityServers });
  const users = accounts.users;
  // Profiles of other servers' users are asked of their servers (query.yaml /query/profile), and kept a while.
  accounts.profiles.useRemote(new RemoteProfiles(federation.client, config.serverName));
  // A remote user's own member event with a name or avatar (a join, or a profile change sent to their
  // rooms) says their profile may have changed: it is asked again rather than served stale.
  roomserver.subscribe((output) => {
    if (output.kind !== "new_room_event" || output.local) return;
    const { event } = output;
    if (event.type !== "m.room.member" || event.stateKey !== event.sender || event.content["membership"] !== "join") return;
    accounts.profiles.remoteProfileChanged(event.sender);
  });
  // Shadow-banned users (users/shadow-bans.ts): the rooms, events and typing areas ask it.
  const shadowBans = new ShadowBans(new ShadowBanStore(db));
  await shadowBans.load();
  const shadowBanned = (userId: string): boolean => shadowBans.isShadowBanned(userId);
  const rooms = await createRoomServices({ config, db, logger, roomserver, accounts, rateLimiters: limiters, shadowBanned, identityServers });
  // A user's rooms, read once the membership index has applied what the room engine has put out (a
  // join just made included); of the memberships given, or of any.
  const roomsOfUser = async (userId: string, memberships?: readonly Membership[]) => {
    await rooms.membershipIndex.waitUntil(rooms.membershipIndex.position);
    return await rooms.membershipIndex.roomsForUser(userId, memberships);
  };
  const events = await createEventServices({
    db,
    logger,
    roomserver,
    visibility: rooms.visibility,
    settleMemberships: () => rooms.membershipIndex.waitUntil(rooms.membershipIndex.position),
    isForgotten: (userId, roomId) => rooms.membershipIndex.isForgotten(userId, roomId),
    validateCanonicalAlias: (roomId, content) => rooms.aliases.validateCanonicalAlias(roomId, content),
    checkInvitable: (userId) => rooms.membership.checkInvitable(userId),
    checkNotBlocked: (roomId) => rooms.blocks.check(roomId),
    guestsRemoved: (roomId) => rooms.guestsRemoved(roomId),
    ignoredUsers: cachedIgnoredUsersReader(accounts.accountData),
    roomsOfUser: (userId) => roomsOfUser(userId),
    shadowBanned: (userId, version) => (shadowBans.isShadowBanned(userId) ? fakeEventId(version.eventIdFormat, config.serverName) : undefined),
  });
  // The admin API's jobs redacting a user's events (the jobs a stop cut short run again once every
  // service is up, below).
  const timelineStore = new RoomTimelineStore(db);
  const userRedactions = new UserRedactions({
    serverName: config.serverName,
    store: new AdminRedactionStore(db),
    roomsOf: async (userId) => (await roomsOfUser(userId)).map((entry) => entry.roomId),
    sentBy: (roomId, sender, limit, afterTs, beforeTs) => timelineStore.sentBy(roomId, sender, limit, afterTs, beforeTs),
    redact: (requester, roomId, eventId, txnId, reason) => events.sender.redact(requester, roomId, eventId, txnId, reason),
    logger: logger.child({ component: "user-redaction" }),
  });
  // Server notices (modules/server_notices.md), when `server_notices.system_mxid_localpart` is set.
  const noticesConfig = config.serverNotices;
  const serverNotices =
    noticesConfig === undefined
      ? undefined
      : new ServerNotices({
          config: noticesConfig,
          serverName: config.serverName,
          store: rooms.serverNoticeRooms,
          creation: rooms.creation,
          membership: rooms.membership,
          membershipOf: async (roomId, userId) => await (await rooms.states.current(roomId))?.membershipOf(userId),
          accountOf: async (userId) => {
            const user = await users.getUser(userId);
            return user === undefined ? undefined : { deactivated: user.deactivated };
          },
          registerSystemUser: async (localpart, displayname) => {
            await users.register({ localpart, password: undefined, inhibitLogin: true, ...(displayname === undefined ? {} : { displayname }) });
          },
          profileOf: (userId) => accounts.profiles.getProfile(userId),
          setProfileField: (requester, key, value) => accounts.profiles.setField(requester, requester.userId, key, { [key]: value }),
          sendMessage: (requester, roomId, type, txnId, content) => events.sender.sendMessage(requester, roomId, type, txnId, content),
          sendState: (requester, roomId, type, stateKey, content) => events.sender.sendState(requester, roomId, type, stateKey, content),
          addTag: (userId, roomId, tag) => accounts.accountData.putTag(actingAs(userId), userId, roomId, tag, {}),
        });
  const federationRooms = await createFederationRoomServices({
    config,
    db,
    logger,
    roomserver,
    federation,
    serverKeys,
    getProfile: (userId) => accounts.profiles.getProfile(userId),
    userExists: (userId) => users.isUserIdTaken(userId),
    checkInvitable: (userId) => rooms.membership.checkInvitable(userId),
    checkNotBlocked: (roomId) => rooms.blocks.check(roomId),
    checkKeyValid: (keyValidityUrl, publicKey) => checkKeyValid(identityServers, keyValidityUrl, publicKey),
  });
  federationRooms.useLocalAliases((alias) => rooms.aliases.resolve(alias));
  // /messages paging past the oldest event stored asks the room's other servers for the history before it.
  events.messages.useBackfill((roomId, limit) => federationRooms.backfiller.fillBefore(roomId, limit));
  // /timestamp_to_event asks the room's other servers when they may have a closer event than ours.
  events.messages.useRemoteTimestamps((roomId, ts, dir, local) => federationRooms.timestamps.closer(roomId, ts, dir, local));
  federationRooms.backfiller.onPlaced((placed) => events.relationsIndexer.indexBackfilled(placed));
  federationRooms.backfiller.onPlaced((placed) => events.search.indexer.indexBackfilled(placed));
  // The notifier /sync waits on: made before e2ee and sync, since e2ee wakes it too.
  const e2eeNotifier = new Notifier();
  const e2ee = await createE2eeServices({
    serverName: config.serverName,
    db,
    logger,
    devices: accounts.devices,
    uia: accounts.uia,
    notifier: e2eeNotifier,
    membershipIndex: rooms.membershipIndex,
    roomOutputs: roomserver,
    remoteKeys: federationRooms.remoteKeys,
    remoteToDevice: federationRooms.remoteToDevice,
    allowDeviceNamesOverFederation: config.allowDeviceNameLookupOverFederation,
    // server-server-api#device-management: device lists go out and come in as EDUs.
    deviceListFederation: {
      send: (destination, edu) => federationRooms.enqueueEdu(destination, edu),
      onEdu: (eduType, handler) => federationRooms.onEdu(eduType, handler),
      fetchUserDevices: userDevicesFetcher(federation.client),
    },
  });
  federationRooms.receiveToDevice((origin, edu) => e2ee.toDevice.receiveRemote(origin, edu));
  accounts.accounts.onDeactivated((userId) => e2ee.keyBackups.deleteAll(userId));

  // Rooms elsewhere: joins, invites, knocks, leaves and alias queries go through federation.
  rooms.connectRemote(federationRooms.remoteRooms);
  // The client's /hierarchy asks other servers about the children not known here.
  rooms.hierarchy.useRemote(federationRooms.spaces);
  const sync = await createSyncServices({
    config,
    db,
    logger,
    notifier: e2eeNotifier,
    roomserver,
    accounts,
    rooms,
    events,
    e2ee,
    receivedInvites: federationRooms.invites,
    shadowBanned,
  });
  // Push notifications: the rules of the members with a pusher applied to each new event, the
  // notifications sent to their push gateways with the unread counts /sync gives.
  const push = await createPushServices({
    config,
    db,
    logger,
    roomOutputs: roomserver,
    roomState: roomserver,
    members: rooms.membershipIndex,
    history: {
      eventsBefore: (roomId, after, upTo, limit) => events.timeline.eventsBetween(roomId, after, upTo, limit, "b"),
      serialize: (userId, list) => events.serializer.serialize(list, { userId, format: "client", withoutRoomId: true }),
      readUpTo: (userId) => sync.receipts.readUpTo(userId),
    },
    accounts,
    ignoredUsers: cachedIgnoredUsersReader(accounts.accountData),
    unreadCount: (userId, upTo) => sync.unreadNotificationTotal(userId, upTo),
  });
  sync.useUnreadRules(push.unreadRules);
  // Application services (application-service-api): their registration files, their requests, the
  // events they are interested in pushed to them, and the users and aliases asked of them.
  const appservices = await createAppserviceServices({
    serverName: config.serverName,
    files: config.appServiceConfigFiles,
    db,
    logger,
    roomOutputs: roomserver,
    streamSince: (position, limit) => roomserver.store.streamSince(position, limit),
    getEvent: (eventId) => roomserver.getEvent(eventId),
    streamHead: () => rooms.membershipIndex.position,
    batchesInFlight: () => roomserver.batchesInFlight(),
    lookups: {
      joinedMembers: async (roomId, streamOrdering) => {
        await rooms.membershipIndex.waitUntil(streamOrdering);
        return await rooms.membershipIndex.joinedMembers(roomId);
      },
      aliasesOf: (roomId) => rooms.aliases.aliasesOfRoom(roomId),
    },
    serialize: async (event, streamOrdering) =>
      (await events.serializer.serialize([{ event, outlier: false, backfilled: false, softFailed: false, rejectedReason: undefined, redactedBy: undefined, streamOrdering }], { format: "client" }))[0] ?? {},
    ephemeral: sync,
    roomsOfUser: async (userId) => (await rooms.membershipIndex.roomsForUser(userId, ["join"])).map((r) => r.roomId),
    deviceExists: async (userId, deviceId) => (await accounts.devices.listDevices(userId)).some((d) => d.deviceId === deviceId),
    ensureUser: async (userId, localpart) => {
      if (!(await users.isUserIdTaken(userId))) await users.register({ localpart, password: undefined, inhibitLogin: true });
    },
  });
  rooms.directory.useAppservices(appservices.registry.all.map((a) => a.id));
  if (!appservices.registry.isEmpty) {
    const registry = appservices.registry;
    accounts.registration.useAppservices({
      isReservedUser: (userId) => registry.exclusiveOwnerOfUser(userId) !== undefined,
      isAppserviceUser: (id, userId) => registry.byId(id)?.isInterestedInUser(userId) === true,
    });
    accounts.login.useAppservices((token, userId) => void registry.userForToken(token, userId, 403));
    rooms.aliases.useAppservices({
      isReservedFor: (alias, id) => registry.all.some((a) => a.id !== id && a.claimsAliasExclusively(alias)),
      isAppserviceAlias: (id, alias) => registry.byId(id)?.isInterestedInAlias(alias) === true,
      queryAlias: (alias) => appservices.queries.queryAlias(alias),
    });
    accounts.profiles.useUserQuery((userId) => appservices.queries.queryUser(userId));
  }
  // Typing, receipts and presence of users here go to the other servers in their rooms, and theirs come in.
  const ephemeralEdus = connectEphemeralEdus({
    serverName: config.serverName,
    logger,
    typing: sync.typing,
    receipts: sync.receipts,
    presence: sync.presence,
    federation: federationRooms,
    roomsOfUser: async (userId) => (await roomsOfUser(userId, ["join"])).map((r) => r.roomId),
    joinedMembers: async (roomId) => {
      await rooms.membershipIndex.waitUntil(rooms.membershipIndex.position);
      return await rooms.membershipIndex.joinedMembers(roomId);
    },
    roomOutputs: roomserver,
  });

  // The media repository: files under media_store_path, rows in local_media. Other servers' media
  // are fetched over federation and kept (remote_content, rows in remote_media).
  const thumbnailer = new Thumbnailer();
  const mediaStore = new MediaStore(db);
  const quarantine = new MediaQuarantine(new QuarantinedMediaStore(db));
  await quarantine.load();
  const media = new MediaService({
    serverName: config.serverName,
    storePath: config.mediaStorePath,
    maxUploadSize: config.maxUploadSize,
    enableAuthenticatedMedia: config.enableAuthenticatedMedia,
    store: mediaStore,
    thumbnailer,
    log: logger.child({ component: "media" }),
    localMediaLifetimeMs: config.mediaRetention.localMediaLifetimeMs,
    quarantine,
  });
  const remoteMedia = new FederationRemoteMedia({
    client: federation.client,
    store: new RemoteMediaStore(db),
    storePath: config.mediaStorePath,
    maxUploadSize: config.maxUploadSize,
    thumbnailer,
    log: logger.child({ component: "remote-media" }),
    remoteMediaLifetimeMs: config.mediaRetention.remoteMediaLifetimeMs,
  });
  media.useRemote(remoteMedia);
  const mediaRetention = new MediaRetention({
    config: config.mediaRetention,
    local: media,
    remote: remoteMedia,
    log: logger.child({ component: "media-retention" }),
  });
  mediaRetention.start();

  // URL previews (authed-content-repo.yaml preview_url), only when url_preview_enabled: they fetch
  // what users name, through their own IP blocklist, and store the pages' images as media.
  const urlPreviewer = config.urlPreview.enabled
    ? new UrlPreviewer({ config: config.urlPreview, media, thumbnailer, log: logger.child({ component: "url-preview" }) })
    : undefined;

  const endpoints: AnyEndpoint[] = [
    versionsEndpoint,
    healthEndpoint,
    ...wellKnownEndpoints({
      clientBaseUrl: config.serveClientWellKnown ? config.publicBaseurl : undefined,
      extraClientContent: config.extraWellKnownClientContent,
      serverDelegation: config.serveServerWellKnown ? `${new URL(config.publicBaseurl).hostname}:443` : undefined,
    }),
    supportWellKnownEndpoint(config.serverSupport),
    ...voipEndpoints(config.turn),
    ...thirdPartyEndpoints(appservices.queries),
    ...appservices.endpoints,
    ...reportEndpoints(config, db, roomserver, events, users, rooms.states),
    ...userRedactionAdminEndpoints(userRedactions, (userId) => users.isAdmin(userId)),
    ...serverNoticeAdminEndpoints(serverNotices, config.serverName, (userId) => users.isAdmin(userId)),
    ...userAdminEndpoints({
      serverName: config.serverName,
      users,
      accounts: accounts.accounts,
      devices: accounts.devices,
      locks: accounts.locks,
      suspensions: accounts.suspensions,
      profiles: accounts.profiles,
      registration: accounts.registration,
      accountData: accounts.accountData,
      pushers: (userId) => push.pushers.list(userId).map(pusherJson),
      joinedRooms: async (userId) => (await roomsOfUser(userId, ["join"])).map((entry) => entry.roomId),
      isShadowBanned: shadowBanned,
      threepids: accounts.threepids,
      externalIds: accounts.externalIds,
    }),
    ...roomMessagesAdminEndpoints(events.messages, (userId) => users.isAdmin(userId)),
    ...loginAsAdminEndpoints({
      serverName: config.serverName,
      isAdmin: (userId) => users.isAdmin(userId),
      isActive: async (userId) => (await users.getUser(userId))?.deactivated === false,
      createDevicelessToken: (userId, expiresTs) => accounts.devices.createDevicelessToken(userId, expiresTs),
    }),
    ...shadowBanAdminEndpoints(shadowBans, config.serverName, (userId) => users.isAdmin(userId), async (userId) => (await users.getUser(userId)) !== undefined),
    ...roomAdminEndpoints({
      serverName: config.serverName,
      states: rooms.states,
      directory: rooms.directory,
      membershipIndex: rooms.membershipIndex,
      blocks: rooms.blocks,
      membership: rooms.membership,
      userExists: (userId) => users.isUserIdTaken(userId),
      roomIds: () => roomserver.store.roomIds(),
      getEvent: (eventId) => roomserver.getEvent(eventId),
      serialize: (infos) => events.serializer.serialize(infos),
      deviceCount: async (userId) => (await accounts.devices.listDevices(userId)).length,
      isAdmin: (userId) => users.isAdmin(userId),
    }),
    ...serverKeyEndpoints(serverKeys),
    ...keyQueryEndpoints(federation.notary),
    federationVersionEndpoint(),
    ...sharedSecretRegisterEndpoints({ sharedSecret: config.registrationSharedSecret, serverName: config.serverName, users }),
    ...accounts.endpoints,
    ...rooms.endpoints,
    ...events.endpoints,
    ...e2ee.endpoints,
    ...federationRooms.endpoints,
    ...sync.endpoints,
    ...push.endpoints,
    ...openidEndpoints(new OpenidTokens(new OpenidTokenStore(db), config.serverName)),
    ...mediaEndpoints({ media }),
    ...mediaAdminEndpoints({
      media,
      store: mediaStore,
      retention: mediaRetention,
      serverName: config.serverName,
      isAdmin: (userId) => users.isAdmin(userId),
      quarantinedBy: (mediaId) => quarantine.quarantinedBy(config.serverName, mediaId),
      isProtected: (mediaId) => quarantine.isProtected(mediaId),
    }),
    ...mediaQuarantineAdminEndpoints({
      quarantine,
      serverName: config.serverName,
      isAdmin: (userId) => users.isAdmin(userId),
      mediaOfRoom: (roomId) => mediaOfRoom(roomserver, roomId),
      mediaIdsOfUser: async (userId) => (await media.mediaOf(userId, { offset: 0, limit: Number.MAX_SAFE_INTEGER, orderBy: "created_ts", direction: "f" })).media.map((m) => m.mediaId),
    }),
    ...(urlPreviewer === undefined ? [] : previewUrlEndpoints(urlPreviewer)),
    ...federationMediaEndpoints({ media, serverName: config.serverName }),
  ];

  const http: HttpDeps = {
    endpoints,
    authenticateAccessToken: (token, connection, query) => appservices.authenticate(token, connection, query, (t, c) => accounts.devices.authenticate(t, c)),
    isLocked: (userId) => accounts.locks.isRestricted(userId),
    isSuspended: (userId) => accounts.suspensions.isRestricted(userId),
    authenticateFederation: (request) => federation.authenticator.authenticate(request),
    rateLimiters: limiters,
    federationRateLimiter: new FederationRateLimiter(config.rateLimits.federation, { neverDelayed: ["federation.send_transaction"] }),
    logger,
    maxRequestSize: config.maxRequestSize,
    maxUploadSize: config.maxUploadSize,
  };

  void userRedactions.start();

  return {
    config,
    db,
    serverKeys,
    federation,
    identityServers,
    roomserver,
    users,
    accounts,
    rooms,
    events,
    e2ee,
    federationRooms,
    sync,
    media,
    mediaRetention,
    push,
    http,
    close: async () => {
      clearInterval(purgeTimer);
      await mediaRetention.close();
      await push.close();
      await appservices.close();
      await userRedactions.close();
      await roomserver.close();
      await rooms.close();
      await events.close();
      await e2ee.close();
      ephemeralEdus.close();
      await federationRooms.close();
      await sync.close();
      await federation.close();
      await urlPreviewer?.close();
      await accounts.close();
      await db.close();
    },
  };
}
