// Reading and writing room events, relations and threads (issue 5), built from its dependencies:
// the part of the composition root that services.ts calls. Every service of this area and what
// it depends on is written down here.
//
//   Roomserver  <-  RelationsIndexer (a consumer of its outputs, with catch-up at start)
//   RelationStore, Roomserver, EventVisibility  <-  Aggregator  <-  EventSerializer
//   Roomserver, EventVisibility  <-  RoomAccess
//   Timeline, RoomAccess, EventSerializer  <-  MessagesService, RoomReader, RelationsService
//   Transactions, RelationStore, RelationsIndexer  <-  EventSender
//   Roomserver, RoomAccess, RoomReader, EventSerializer, Timeline  <-  Search (search/index.ts)
import type { Logger } from "pino";
import type { JsonObject } from "../core/json.ts";
import { isJsonObject } from "../core/json.ts";
import type { AnyEndpoint } from "../http/endpoint.ts";
import type { Database } from "../storage/database.ts";
import { IGNORED_USER_LIST_TYPE, type AccountDataService } from "./account-data/account-data-service.ts";
import { RelationStore } from "../storage/stores/relations.ts";
import { RoomTimelineStore } from "../storage/stores/room-timeline.ts";
import { TransactionStore } from "../storage/stores/transactions.ts";
import { membersEndpoints } from "./api/client/members.ts";
import { messagesEndpoints } from "./api/client/messages.ts";
import { relationsEndpoints } from "./api/client/relations.ts";
import { sendEndpoints } from "./api/client/send.ts";
import { stateEndpoints } from "./api/client/state.ts";
import { RoomAccess, type EventVisibility, type ForgottenCheck } from "./events/access.ts";
import { MessagesService } from "./events/messages.ts";
import { Aggregator } from "./events/relations/aggregations.ts";
import { RelationsIndexer } from "./events/relations/indexer.ts";
import { RelationsService } from "./events/relations/relations-service.ts";
import { RoomReader } from "./events/room-reader.ts";
import { EventSender, type CanonicalAliasValidator, type ShadowBannedSend } from "./events/sender.ts";
import { EventSerializer } from "./events/serializer.ts";
import { StateLookup } from "./events/state-lookup.ts";
import { Timeline } from "./events/timeline.ts";
import { Transactions } from "./events/transactions.ts";
import type { Roomserver } from "./roomserver/index.ts";
import { IgnoredUsers } from "./sync/user-cache.ts";
import { createSearch, type Search, type UserRoom } from "./search/index.ts";

export interface EventServices {
  /** Formats events for clients (sync serves every event through it). */
  readonly serializer: EventSerializer;
  /** A room's timeline by stream position (sync reads its timelines here). */
  readonly timeline: Timeline;
  /** Who may read what in a room: the views the read endpoints serve. */
  readonly access: RoomAccess;
  readonly sender: EventSender;
  readonly reader: RoomReader;
  readonly messages: MessagesService;
  readonly relations: RelationsService;
  readonly relationsIndexer: RelationsIndexer;
  readonly transactions: Transactions;
  /** Server-side search (POST /search) and its index. */
  readonly search: Search;
  readonly endpoints: readonly AnyEndpoint[];
  /** Stops the indexers (after the roomserver closed, before the database). */
  close(): Promise<void>;
}

export interface EventServicesDeps {
  readonly db: Database;
  readonly logger: Logger;
  readonly roomserver: Roomserver;
  /** The history visibility rules (the rooms area's HistoryVisibility). */
  readonly visibility: EventVisibility;
  /** Resolves once the membership index has applied what the room engine committed so far. */
  readonly settleMemberships?: () => Promise<void>;
  /** Whether the user forgot the room (POST /forget), as the rooms area records it. */
  readonly isForgotten?: ForgottenCheck;
  /** The users a user ignores (their m.ignored_user_list account data). */
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
  /** Checks the aliases of an m.room.canonical_alias before it is sent (the rooms area's alias service). */
  readonly validateCanonicalAlias?: CanonicalAliasValidator;
  /** Refuses an invite of a user who blocks invites (the rooms area's membership service). */
  readonly checkInvitable?: (userId: string) => Promise<void>;
  /** Throws 403 M_FORBIDDEN for a room a server admin blocked (rooms/room-blocks.ts). */
  readonly checkNotBlocked?: (roomId: string) => void;
  /** Settles once the guests a change of the room's guest access removes have left (the rooms area). */
  readonly guestsRemoved?: (roomId: string) => Promise<void>;
  /** The rooms a user has a membership of (the rooms area's membership index): the rooms /search searches. */
  readonly roomsOfUser?: (userId: string) => Promise<readonly UserRoom[]>;
  /** A made-up event ID for a user a server admin shadow-banned (users/shadow-bans.ts), undefined for anyone else. */
  readonly shadowBanned?: ShadowBannedSend;
  readonly now?: () => number;
}

/** How often old transaction IDs are forgotten. */
const TRANSACTION_PURGE_INTERVAL_MS = 60 * 60 * 1000;

export async function createEventServices(deps: EventServicesDeps): Promise<EventServices> {
  const { db, roomserver, visibility } = deps;
  const log = deps.logger.child({ component: "events" });
  const now = deps.now ?? Date.now;

  const relationStore = new RelationStore(db);
  const relationsIndexer = new RelationsIndexer({
    roomserver,
    store: relationStore,
    streamSince: (position, limit) => roomserver.store.streamSince(position, limit),
    logger: log,
  });
  const transactions = new Transactions(new TransactionStore(db), now);
  const stateLookup = new StateLookup(roomserver.store);
  const timeline = new Timeline(new RoomTimelineStore(db), roomserver);
  const access = new RoomAccess(roomserver, visibility, deps.settleMemberships, deps.isForgotten);
  const indexed = () => relationsIndexer.caughtUp();
  const aggregator = new Aggregator({ store: relationStore, roomserver, visibility, ignoredUsers: deps.ignoredUsers, indexed });
  const serializer = new EventSerializer({ roomserver, transactions: transactions.store, stateLookup, aggregator, visibility, now });
  const sender = new EventSender({
    roomserver,
    transactions,
    relations: relationStore,
    indexer: relationsIndexer,
    ...(deps.validateCanonicalAlias === undefined ? {} : { validateCanonicalAlias: deps.validateCanonicalAlias }),
    ...(deps.checkInvitable === undefined ? {} : { checkInvitable: deps.checkInvitable }),
    ...(deps.checkNotBlocked === undefined ? {} : { checkNotBlocked: deps.checkNotBlocked }),
    ...(deps.guestsRemoved === undefined ? {} : { guestsRemoved: deps.guestsRemoved }),
    ...(deps.shadowBanned === undefined ? {} : { shadowBanned: deps.shadowBanned }),
  });
  const reader = new RoomReader({ roomserver, access, serializer, timeline });
  const messages = new MessagesService({ roomserver, timeline, access, serializer, stateLookup, ignoredUsers: deps.ignoredUsers });
  const relations = new RelationsService({ store: relationStore, roomserver, access, serializer, ignoredUsers: deps.ignoredUsers, indexed });
  const search = createSearch({
    db,
    logger: deps.logger,
    roomserver,
    access,
    reader,
    serializer,
    timeline,
    stateLookup,
    ignoredUsers: deps.ignoredUsers,
    ...(deps.roomsOfUser === undefined ? {} : { roomsOfUser: deps.roomsOfUser }),
  });

  await relationsIndexer.start();
  const purgeTimer = setInterval(() => {
    transactions.purge().catch((err: unknown) => log.error({ err }, "purging old transaction IDs failed"));
  }, TRANSACTION_PURGE_INTERVAL_MS);
  purgeTimer.unref();

  const endpoints: AnyEndpoint[] = [
    ...sendEndpoints(sender),
    ...stateEndpoints(sender, reader),
    ...messagesEndpoints(messages),
    ...membersEndpoints(reader),
    ...relationsEndpoints(relations),
    ...search.endpoints,
  ];

  return {
    serializer,
    timeline,
    access,
    sender,
    reader,
    messages,
    relations,
    relationsIndexer,
    transactions,
    search,
    endpoints,
    close: async () => {
      clearInterval(purgeTimer);
      await relationsIndexer.close();
      await search.close();
    },
  };
}

/** The ignored users an m.ignored_user_list content names (client-server-api#ignoring-users). */
export function ignoredUsersOf(content: JsonObject | undefined): Set<string> {
  const ignored = content?.["ignored_users"];
  return new Set(isJsonObject(ignored) ? Object.keys(ignored) : []);
}

/**
 * A user's ignored users, kept in memory per user and read again after their
 * m.ignored_user_list changes (every served page of events asks; the list rarely changes).
 */
export function cachedIgnoredUsersReader(accountData: AccountDataService): (userId: string) => Promise<ReadonlySet<string>> {
  const cache = new IgnoredUsers(ignoredUsersReader(accountData));
  accountData.onChange((change) => {
    if (change.type === IGNORED_USER_LIST_TYPE && change.roomId === undefined) cache.changed(change.userId);
  });
  return (userId) => cache.of(userId);
}

/** Reads a user's ignored users from their account data. */
export function ignoredUsersReader(accountData: AccountDataService): (userId: string) => Promise<Set<string>> {
  return async (userId) => {
    return ignoredUsersOf(await accountData.globalContent(userId, IGNORED_USER_LIST_TYPE));
  };
}
