// Rooms over federation (issue 7), built from the config: the part of the composition root that
// services.ts calls. Every service of this area and what it depends on is written down here.
//
//   Roomserver  <-  RoomReader  <-  RoomServers (who is in each room, ACLs; moved by its outputs)
//   FederationClient, RoomReader  <-  EventFetcher (gaps, state)  <-  FederationReceiver, Backfiller
//   FederationQueueStore, FederationClient  <-  FederationSender (fed by the roomserver's outputs)
//   RoomReader  <-  EventTemplates  <-  ResidentMembership, FederationInvites, RemoteMembership
import type { Logger } from "pino";
import type { HomeserverConfig } from "../config/index.ts";
import type { Pdu } from "../core/events/room-event.ts";
import { MatrixError } from "../core/errors.ts";
import { serverNameOf } from "../core/identifiers/index.ts";
import type { JsonObject } from "../core/json.ts";
import type { AnyEndpoint } from "../http/endpoint.ts";
import type { Database } from "../storage/database.ts";
import { FederationInviteStore } from "../storage/stores/federation-invites.ts";
import { FederationQueueStore } from "../storage/stores/federation-queue.ts";
import { FederationTxnStore } from "../storage/stores/federation-txns.ts";
import { inviteEndpoints } from "./api/federation/invites.ts";
import { membershipEndpoints } from "./api/federation/membership.ts";
import { queryEndpoints } from "./api/federation/queries.ts";
import { roomReadEndpoints } from "./api/federation/room-reads.ts";
import { transactionEndpoints } from "./api/federation/transactions.ts";
import { Backfiller } from "./federation/backfill.ts";
import { EduDispatcher, type EduHandler } from "./federation/edus.ts";
import { EventFetcher } from "./federation/event-fetcher.ts";
import { EventTemplates } from "./federation/event-template.ts";
import type { Federation } from "./federation/federation.ts";
import { FederationInvites } from "./federation/invites.ts";
import { FederationQueries } from "./federation/queries.ts";
import { RemotePublicRooms } from "./federation/public-rooms.ts";
import { RemoteSpaces } from "./federation/remote-hierarchy.ts";
import { RemoteTimestampLookup } from "./federation/timestamp-lookup.ts";
import { FederationReceiver } from "./federation/receiver.ts";
import { RemoteMembership } from "./federation/remote-membership.ts";
import { ResidentMembership } from "./federation/resident-membership.ts";
import { ThirdPartyInviteExchange } from "./federation/third-party-invites.ts";
import { RoomReader } from "./federation/room-reader.ts";
import { FederationRoomReads } from "./federation/room-reads.ts";
import { RoomServers } from "./federation/room-servers.ts";
import { directToDeviceHandler, remoteKeyQuerier, remoteToDeviceSender } from "./federation/remote-e2ee.ts";
import { FederationSender, type Edu } from "./federation/sender.ts";
import type { ServerKeyPublisher } from "./federation/server-keys.ts";
import type { Roomserver, RoomserverOutput } from "./roomserver/index.ts";
import type { RemoteRooms } from "./rooms/remote-joiner.ts";
import type { RemoteKeyQuerier } from "./e2ee/keys-service.ts";
import type { DirectToDeviceEdu, RemoteToDeviceSender } from "./e2ee/to-device-service.ts";

/** Received transactions are remembered this long (a sender retries within minutes). */
const RECEIVED_TXN_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface FederationRoomServices {
  readonly rooms: RoomServers;
  readonly sender: FederationSender;
  readonly receiver: FederationReceiver;
  readonly fetcher: EventFetcher;
  readonly backfiller: Backfiller;
  readonly resident: ResidentMembership;
  readonly remote: RemoteMembership;
  readonly invites: FederationInvites;
  readonly reads: FederationRoomReads;
  readonly queries: FederationQueries;
  /** The client's /timestamp_to_event asking the room's other servers. */
  readonly timestamps: RemoteTimestampLookup;
  /** Other servers' spaces, for the client's /hierarchy walking into rooms that are not here. */
  readonly spaces: RemoteSpaces;
  /** The seams the rooms services call for rooms that are not here. */
  readonly remoteRooms: RemoteRooms;
  /** The seams of the e2ee services: other servers' keys, to-device messages for their users. */
  readonly remoteKeys: RemoteKeyQuerier;
  readonly remoteToDevice: RemoteToDeviceSender;
  /** Hands received m.direct_to_device EDUs (checked) to the to-device service. */
  receiveToDevice(receive: (origin: string, edu: DirectToDeviceEdu) => Promise<void>): void;
  readonly endpoints: readonly AnyEndpoint[];
  /** Queues an EDU for a server (typing, receipts, presence, device lists, to-device). */
  enqueueEdu(destination: string, edu: Edu): void;
  /** Registers a handler for received EDUs of a type. Returns the unregister. */
  onEdu(eduType: string, handler: EduHandler): () => void;
  /** The servers with a joined member in a room (ours included). */
  serversInRoom(roomId: string): Promise<string[]>;
  /** Where our aliases are looked up (/query/directory, joins by our alias): set once the rooms services exist. */
  useLocalAliases(lookup: LocalAliasLookup): void;
  /** Settles when every output seen so far is queued, and the queues are sent or backing off (tests). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface FederationRoomDeps {
  readonly config: HomeserverConfig;
  readonly db: Database;
  readonly logger: Logger;
  readonly roomserver: Roomserver;
  readonly federation: Federation;
  readonly serverKeys: ServerKeyPublisher;
  /** A local user's public profile (/query/profile); throws M_NOT_FOUND for unknown users. */
  readonly getProfile: (userId: string) => Promise<JsonObject>;
  /** Whether a local user exists (invites of anyone else are refused). */
  readonly userExists?: (userId: string) => Promise<boolean>;
  /** Refuses an invite of a local user who blocks invites (403 M_INVITE_BLOCKED). */
  readonly checkInvitable?: (userId: string) => Promise<void>;
  /** Refuses an invite to a room a server admin blocked (403 M_FORBIDDEN). */
  readonly checkNotBlocked?: (roomId: string) => void;
  /** Throws unless the identity server holds a third-party invite's key valid (exchange_third_party_invite). */
  readonly checkKeyValid?: (keyValidityUrl: string, publicKey: string) => Promise<void>;
}

/** Our aliases: the room an alias of ours names, and servers in it; throws or answers undefined when unknown. */
export type LocalAliasLookup = (alias: string) => Promise<{ roomId: string; servers: readonly string[] } | undefined>;

export async function createFederationRoomServices(deps: FederationRoomDeps): Promise<FederationRoomServices> {
  const { config, db, roomserver, federation } = deps;
  const serverName = config.serverName;
  const log = deps.logger.child({ component: "federation-rooms" });
  const signingKey = deps.serverKeys.signingKey;
  const client = federation.client;

  const reader = new RoomReader(roomserver);
  const rooms = new RoomServers(reader);
  const loadPdus = async (ids: readonly string[]): Promise<Map<string, Pdu>> => {
    const events = await reader.events(ids);
    return new Map([...events].map(([id, read]) => [id, read.event.pdu]));
  };
  const sender = new FederationSender({ serverName, store: new FederationQueueStore(db), client, loadPdus, logger: log });
  const fetcher = new EventFetcher(client, roomserver, reader, log);
  const edus = new EduDispatcher(rooms, log);
  const txns = new FederationTxnStore(db);
  const templates = new EventTemplates(reader, serverName);
  const resident = new ResidentMembership({ serverName, signingKey, roomserver, reader, rooms, templates, sender });
  const invites = new FederationInvites({
    serverName,
    signingKey,
    keys: federation.keyring,
    roomserver,
    rooms,
    templates,
    sender,
    store: new FederationInviteStore(db),
    client,
    userExists: deps.userExists,
    ...(deps.checkInvitable === undefined ? {} : { checkInvitable: deps.checkInvitable }),
    ...(deps.checkNotBlocked === undefined ? {} : { checkNotBlocked: deps.checkNotBlocked }),
    onListenerError: (err) => log.error({ err }, "an invite listener failed"),
  });
  const thirdPartyInvites = new ThirdPartyInviteExchange({
    serverName,
    reader,
    rooms,
    invites,
    client,
    ...(deps.checkKeyValid === undefined ? {} : { checkKeyValid: deps.checkKeyValid }),
  });
  const receiver = new FederationReceiver({
    roomserver,
    reader,
    rooms,
    fetcher,
    txns,
    edus,
    onUnknownRoom: (origin, roomId, pdus) => invites.retractedInvites(origin, roomId, pdus),
    onOriginSeen: (origin) => sender.wake(origin),
    logger: log,
  });
  let aliasLookup: LocalAliasLookup | undefined;
  const localAlias = async (alias: string): Promise<{ roomId: string; servers: readonly string[] } | undefined> => {
    const lookup = aliasLookup;
    if (lookup === undefined) return undefined;
    try {
      return await lookup(alias);
    } catch (err) {
      if (err instanceof MatrixError && err.errcode === "M_NOT_FOUND") return undefined;
      throw err;
    }
  };
  const remote = new RemoteMembership({ serverName, signingKey, client, roomserver, reader, fetcher, invites, lookupLocalAlias: localAlias, logger: log });
  const reads = new FederationRoomReads(serverName, reader, rooms);
  const queries = new FederationQueries({ serverName, getProfile: deps.getProfile, lookupLocalAlias: localAlias, rooms });
  const timestamps = new RemoteTimestampLookup({ serverName, client, roomserver, reader, rooms, fetcher, logger: log });
  const backfiller = new Backfiller({ serverName, client, roomserver, reader, rooms, fetcher, logger: log });

  // The roomserver's outputs, in commit order: who is in the room moves first, then our own
  // events go to the room's other servers.
  let outputs: Promise<void> = Promise.resolve();
  const onOutput = async (output: RoomserverOutput): Promise<void> => {
    await rooms.apply(output);
    if (output.kind !== "new_room_event" || !output.local) return;
    const event = output.event;
    const destinations = new Set(await rooms.serversInRoom(output.roomId));
    // A membership change concerns the member's server even when it is leaving (or banned, kicked);
    // an invitee's server has the invite already, signed by it.
    if (event.type === "m.room.member" && event.stateKey !== undefined && event.content["membership"] !== "invite") {
      const server = serverNameOf(event.stateKey);
      if (server !== undefined) destinations.add(server);
    }
    destinations.delete(serverName);
    sender.queuePdu(output.roomId, event.eventId, destinations);
  };
  const unsubscribe = roomserver.subscribe((output) => {
    outputs = outputs.then(() => onOutput(output)).catch((err: unknown) => log.error({ err }, "federation: handling a room output failed"));
  });

  const pruneTimer = setInterval(() => {
    txns.prune(Date.now() - RECEIVED_TXN_RETENTION_MS).catch((err: unknown) => log.error({ err }, "pruning received transactions failed"));
  }, 60 * 60 * 1000);
  pruneTimer.unref();

  await sender.start();

  const remoteRooms: RemoteRooms = {
    joiner: remote,
    knocker: remote,
    leaver: { leave: (userId, roomId, via, content) => remote.leave(userId, roomId, via, content) },
    inviter: { invite: (request) => invites.invite(request.roomId, request.sender, request.invitee, request.content) },
    directory: new RemotePublicRooms(client, serverName),
    thirdPartyInvites,
    aliases: {
      resolveAlias: async (alias) => {
        try {
          return await remote.resolveRoom(alias);
        } catch (err) {
          if (err instanceof MatrixError && err.errcode === "M_NOT_FOUND") return undefined;
          throw err;
        }
      },
    },
  };

  const endpoints: AnyEndpoint[] = [
    ...transactionEndpoints(receiver),
    ...membershipEndpoints(resident, thirdPartyInvites),
    ...inviteEndpoints(invites),
    ...roomReadEndpoints(reads),
    ...queryEndpoints(queries),
  ];

  return {
    rooms,
    sender,
    receiver,
    fetcher,
    backfiller,
    resident,
    remote,
    invites,
    reads,
    queries,
    timestamps,
    spaces: new RemoteSpaces(client, serverName, { logger: log }),
    remoteRooms,
    remoteKeys: remoteKeyQuerier(client),
    remoteToDevice: remoteToDeviceSender((destination, edu) => sender.enqueueEdu(destination, edu)),
    receiveToDevice: (receive) => void edus.onEdu("m.direct_to_device", directToDeviceHandler(receive)),
    endpoints,
    enqueueEdu: (destination, edu) => sender.enqueueEdu(destination, edu),
    onEdu: (eduType, handler) => edus.onEdu(eduType, handler),
    serversInRoom: (roomId) => rooms.serversInRoom(roomId),
    useLocalAliases: (lookup) => {
      aliasLookup = lookup;
    },
    settled: async () => {
      await outputs;
      await sender.settled();
    },
    close: async () => {
      clearInterval(pruneTimer);
      unsubscribe();
      await outputs;
      await sender.close();
    },
  };
}
