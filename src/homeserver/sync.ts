// Sync and the ephemeral streams (issue 5), built from their dependencies: the part of the
// composition root that services.ts calls.
//
//   Notifier (made first, in services.ts: e2ee wakes sync through it too)
//   Roomserver outputs  ->  RoomHeads (the room stream's head per room; notifies), UnreadCounter
//   TypingService, PresenceService (+ its store), ReceiptService (+ its store)  ->  notifier
//   MembershipIndex, Timeline, EventSerializer, HistoryVisibility, AccountData, e2ee streams
//     ->  SyncResponseBuilder  ->  SyncService
//   RoomAccess, RoomReader, MessagesService, RoomDirectory, AccountData, notifier  ->  RoomPreviews
import type { Logger } from "pino";
import type { HomeserverConfig } from "../config/index.ts";
import { serverNameOf } from "../core/identifiers/index.ts";
import type { AnyEndpoint } from "../http/endpoint.ts";
import type { Database } from "../storage/database.ts";
import { PresenceStore } from "../storage/stores/presence.ts";
import { ReceiptStore } from "../storage/stores/receipts.ts";
import type { AccountServices } from "./accounts.ts";
import { IGNORED_USER_LIST_TYPE } from "./account-data/account-data-service.ts";
import { presenceEndpoints } from "./api/client/presence.ts";
import { readMarkerEndpoints } from "./api/client/read-markers.ts";
import { receiptEndpoints } from "./api/client/receipts.ts";
import { roomPreviewEndpoints } from "./api/client/room-previews.ts";
import { syncEndpoints } from "./api/client/sync.ts";
import { typingEndpoints } from "./api/client/typing.ts";
import type { E2eeServices } from "./e2ee.ts";
import { ignoredUsersReader, type EventServices } from "./events.ts";
import { invitesBlockedReader } from "./rooms/invite-permission.ts";
import type { RoomServices } from "./rooms.ts";
import type { RoomEventInfo, Roomserver } from "./roomserver/index.ts";
import { knownFromStored } from "./roomserver/known-event.ts";
import type { StateMap } from "../core/events/room-event.ts";
import { BatchedRoomState, BatchedVisibility, EventLoader } from "./sync/batching.ts";
import { KeyCountCache } from "./sync/key-counts.ts";
import { LazyMemberCache } from "./sync/lazy-members.ts";
import type { Notifier } from "./sync/notifier.ts";
import { BatchedPresencePersistence } from "./sync/presence-persistence.ts";
import { PresenceStatus } from "./sync/presence-status.ts";
import { PresenceService } from "./sync/presence.ts";
import { ReadMarkerService } from "./sync/read-markers.ts";
import { ReceiptService, type ReceiptedEvent } from "./sync/receipts.ts";
import { SyncResponseBuilder } from "./sync/response.ts";
import { RoomHeads } from "./sync/room-heads.ts";
import { RoomPreviews } from "./sync/room-previews.ts";
import { RoomSummaries } from "./sync/room-summary.ts";
import { RecentEvents } from "./sync/recent-events.ts";
import { SyncService } from "./sync/sync-service.ts";
import type { SyncReceivedInvites } from "./sync/sources.ts";
import { STREAMS, type StreamPositions } from "./sync/token.ts";
import { TypingNotifications } from "./sync/typing-notifications.ts";
import { TypingService } from "./sync/typing.ts";
import { UnreadCounter, type UnreadRules } from "./sync/unread-counts.ts";
import { IgnoredUsers, UserRooms } from "./sync/user-cache.ts";

export interface SyncServices {
  readonly notifier: Notifier;
  readonly typing: TypingService;
  readonly presence: PresenceService;
  readonly receipts: ReceiptService;
  readonly readMarkers: ReadMarkerService;
  readonly sync: SyncService;
  /** Every stream's position now (what a sync token taken now holds). */
  positions(): StreamPositions;
  /**
   * The user's notification counts summed over their joined rooms, as /sync counts them up to
   * `upTo` (or the head): the `unread` count a push notification carries (push_notifier.yaml).
   */
  unreadNotificationTotal(userId: string, upTo?: number): Promise<number>;
  /** Counts unread notifications by the users' push rules (the push area's) from now on. */
  useUnreadRules(rules: UnreadRules): void;
  readonly endpoints: readonly AnyEndpoint[];
  /** Stops the timers and writes pending presence; call before closing the database. */
  close(): Promise<void>;
}

export interface SyncServicesDeps {
  /** Whether a server admin shadow-banned the user (users/shadow-bans.ts): their typing is told nobody. */
  readonly shadowBanned?: (userId: string) => boolean;
  readonly config: HomeserverConfig;
  readonly db: Database;
  readonly logger: Logger;
  readonly notifier: Notifier;
  readonly roomserver: Roomserver;
  readonly accounts: AccountServices;
  readonly rooms: RoomServices;
  readonly events: EventServices;
  readonly e2ee?: E2eeServices;
  /** Invites received over federation to rooms not here (their invite_room_state). */
  readonly receivedInvites?: SyncReceivedInvites;
}

export async function createSyncServices(deps: SyncServicesDeps): Promise<SyncServices> {
  const { config, db, notifier, roomserver, accounts, rooms, events, e2ee } = deps;
  const log = deps.logger.child({ component: "sync" });
  const membershipIndex = rooms.membershipIndex;
  const isJoined = async (roomId: string, userId: string): Promise<boolean> => (await membershipIndex.membershipOf(userId, roomId)) === "join";
  const getEvent = async (eventId: string): Promise<ReceiptedEvent | undefined> => {
    const info = await roomserver.getEvent(eventId);
    if (info === undefined || info.outlier) return undefined;
    return { roomId: info.event.roomId, content: info.event.content, streamOrdering: info.streamOrdering };
  };

  // Listening starts before anything is awaited: from the room stream's head now on, every output
  // is heard (the recent timelines and heads rely on it).
  const start = membershipIndex.position;
  const loader = new EventLoader({ one: (id) => roomserver.getEvent(id), many: (ids) => eventsInBulk(roomserver, ids) });
  const timeline = new RecentEvents(
    {
      entriesBetween: (roomId, from, to, limit, direction) => events.timeline.entriesBetween(roomId, from, to, limit, direction),
      latestPosition: (roomId) => events.timeline.latestPosition(roomId),
      getEvents: (ids) => loader.getEvents(ids),
    },
    start,
  );
  const heads = new RoomHeads(notifier, start, (roomId) => events.timeline.latestPosition(roomId), { batchesInFlight: () => roomserver.batchesInFlight() });
  const unread = new UnreadCounter(timeline);
  let userActive: (userId: string) => void = () => undefined;
  const typing = new TypingService({ notifier });
  const unsubscribe = roomserver.subscribe((output) => {
    if (output.kind === "redaction_applied") loader.forget(output.redactedEventId);
    timeline.receive(output);
    unread.receive(output);
    heads.receive(output);
    // client-server-api presence "Last active ago": "sending a message to a room" is activity.
    if (output.kind === "new_room_event" && output.local && serverNameOf(output.event.sender) === config.serverName) {
      userActive(output.event.sender);
    }
    // Only members type (typing.yaml): whoever leaves, is kicked or banned stops typing there at once,
    // instead of when their timeout runs out (for another server's user, up to 30 s after).
    if (output.kind === "new_room_event") {
      const { event } = output;
      if (event.type === "m.room.member" && event.stateKey !== undefined && event.content["membership"] !== "join") typing.setTyping(event.roomId, event.stateKey, false);
    }
  });
  const ignoredUsers = new IgnoredUsers(ignoredUsersReader(accounts.accountData));
  let accountDataPosition = 0;
  accounts.accountData.onChange((change) => {
    accountDataPosition = Math.max(accountDataPosition, change.streamId);
    if (change.type === IGNORED_USER_LIST_TYPE && change.roomId === undefined) ignoredUsers.changed(change.userId);
    notifier.notify("accountData", change.streamId, { userIds: [change.userId] });
  });

  // Presence reaches the user and the members of the rooms they are in.
  const presencePersistence = new BatchedPresencePersistence(new PresenceStore(db), (err) => log.error({ err }, "saving presence failed"));
  const presence = new PresenceService({
    enabled: config.presence.enabled,
    notifier,
    persistence: presencePersistence,
    initial: config.presence.enabled ? await new PresenceStore(db).all() : [],
    audience: async (userId) => ({ userIds: [userId], roomIds: (await membershipIndex.roomsForUser(userId, ["join"])).map((r) => r.roomId) }),
    isLocal: (userId) => serverNameOf(userId) === config.serverName,
  });
  userActive = (userId) => presence.userActive(userId);
  const receipts = new ReceiptService({
    store: new ReceiptStore(db),
    notifier,
    getEvent,
    isJoined,
    onReceipt: (userId) => presence.userActive(userId),
  });
  await receipts.start();
  const readMarkers = new ReadMarkerService({
    receipts,
    getEvent,
    isJoined,
    putRoomAccountData: (userId, roomId, type, content) => accounts.accountData.putServerManaged(userId, roomId, type, content),
  });

  accountDataPosition = Math.max(accountDataPosition, await accounts.accountData.currentPosition());

  const positions = (): StreamPositions => ({
    roomEvents: heads.head,
    accountData: accountDataPosition,
    toDevice: e2ee?.toDevice.position() ?? 0,
    deviceLists: e2ee?.deviceLists.position() ?? 0,
    typing: typing.position,
    receipts: receipts.position,
    presence: presence.position,
  });
  // What happened before this start may concern anyone: a token from before it is read in full.
  const startPositions = positions();
  for (const stream of STREAMS) if (startPositions[stream] > 0) notifier.notify(stream, startPositions[stream]);

  const userRooms = new UserRooms(membershipIndex, heads);
  const builder = new SyncResponseBuilder({
    serverName: config.serverName,
    now: Date.now,
    heads,
    memberships: membershipIndex,
    userRooms,
    ignoredUsers,
    timeline,
    roomState: new BatchedRoomState((ids, when) => statesInBulk(roomserver, ids, when)),
    visibility: new BatchedVisibility(rooms.visibility),
    serializer: events.serializer,
    accountData: {
      changesSince: (userId, since) => accounts.accountData.changesSince(userId, since),
      unstoredManaged: (userId) => accounts.accountData.unstoredManaged(userId),
      currentPosition: () => accounts.accountData.currentPosition(),
    },
    typing,
    receipts,
    presence,
    toDevice: e2ee?.toDevice,
    deviceLists: e2ee?.deviceLists,
    keyCounts: e2ee === undefined ? undefined : new KeyCountCache(e2ee.oneTimeKeys),
    summaries: new RoomSummaries(membershipIndex, heads),
    lazyMembers: new LazyMemberCache(),
    unread,
    ...(deps.receivedInvites === undefined ? {} : { receivedInvites: deps.receivedInvites }),
    invitesBlocked: invitesBlockedReader(accounts.accountData),
  });
  const sync = new SyncService({
    notifier,
    builder,
    memberships: membershipIndex,
    userRooms,
    presence,
    toDevice: e2ee?.toDevice,
    positions,
    storedFilter: (requester, filterId) => accounts.filters.get(requester, requester.userId, filterId),
  });

  const previews = new RoomPreviews({
    access: events.access,
    reader: events.reader,
    timeline: events.timeline,
    messages: events.messages,
    serializer: events.serializer,
    notifier,
    positions,
    directoryVisibility: async (roomId) => ((await rooms.directory.isPublished(roomId)) ? "public" : "private"),
    roomAccountData: (userId, roomId) => accounts.accountData.roomEntries(userId, roomId),
    ignoredUsers: (userId) => ignoredUsers.of(userId),
  });

  const typingNotifications = new TypingNotifications({
    typing,
    isJoined,
    onActive: (userId) => presence.userActive(userId),
    ...(deps.shadowBanned === undefined ? {} : { shadowBanned: deps.shadowBanned }),
  });
  const presenceStatus = new PresenceStatus({ presence, usersSharingRoomWith: (userId) => membershipIndex.usersSharingRoomWith(userId) });
  const endpoints: AnyEndpoint[] = [
    ...syncEndpoints(sync),
    ...typingEndpoints(typingNotifications),
    ...receiptEndpoints(readMarkers),
    ...readMarkerEndpoints(readMarkers),
    ...presenceEndpoints(presenceStatus),
    ...roomPreviewEndpoints(previews),
  ];

  const unreadNotificationTotal = async (userId: string, upTo?: number): Promise<number> => {
    const [joined, readUpTo, ignored] = await Promise.all([membershipIndex.roomsForUser(userId, ["join"]), receipts.readUpTo(userId), ignoredUsers.of(userId)]);
    const to = Math.max(heads.head, upTo ?? 0);
    let total = 0;
    for (const room of joined) {
      total += (await unread.counts(room.roomId, userId, room.streamOrdering, to, readUpTo.get(room.roomId), ignored, false)).room.notification_count;
    }
    return total;
  };

  return {
    notifier,
    typing,
    presence,
    receipts,
    readMarkers,
    sync,
    positions,
    unreadNotificationTotal,
    useUnreadRules: (rules) => unread.useRules(rules),
    endpoints,
    close: async () => {
      unsubscribe();
      heads.close();
      typing.close();
      presence.close();
      await presencePersistence.flush();
    },
  };
}

// Bulk reads of the room engine's store (its public reads), for the initial syncs of many rooms.
// The Roomserver serves events one at a time; a batch read of it would replace these.

async function eventsInBulk(roomserver: Roomserver, ids: readonly string[]): Promise<Map<string, RoomEventInfo>> {
  const out = new Map<string, RoomEventInfo>();
  for (const [id, stored] of await roomserver.store.getEvents(ids)) {
    const known = knownFromStored(stored);
    out.set(id, {
      event: known.event,
      outlier: known.outlier,
      backfilled: known.backfilled,
      softFailed: known.softFailed,
      rejectedReason: known.rejectedReason,
      redactedBy: known.redactedBy,
      streamOrdering: known.streamOrdering,
    });
  }
  return out;
}

async function statesInBulk(roomserver: Roomserver, ids: readonly string[], when: "before" | "after"): Promise<Map<string, StateMap>> {
  const groups = new Map<string, number>();
  for (const [id, stored] of await roomserver.store.getEvents(ids)) {
    const group = when === "before" ? stored.stateBefore : stored.stateAfter;
    if (group !== null) groups.set(id, group);
  }
  const snapshots = await roomserver.store.state.loadSnapshots([...new Set(groups.values())]);
  const out = new Map<string, StateMap>();
  for (const [id, group] of groups) {
    const snapshot = snapshots.get(group);
    if (snapshot !== undefined) out.set(id, snapshot.toMap());
  }
  return out;
}
