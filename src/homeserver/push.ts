// Pushers and push notification delivery (modules/push.md, push-gateway-api): the part of the
// composition root that services.ts calls, once sync is built (notifications carry its unread
// counts).
//
//   PusherStore  ->  PusherService (in memory; devices deleted, deactivation, rejected pushkeys)
//   Roomserver outputs  ->  EventPusher  (PushRecipients, RulesetCache, RoomFacts, push rules)
//     ->  PushDispatcher (a queue per pusher, retries)  ->  PushGatewayClient (HttpsTransport)
//   Timeline, receipts, serializer, push rules  ->  NotificationsService (GET /notifications)
import type { Logger } from "pino";
import type { HomeserverConfig } from "../config/index.ts";
import type { JsonObject } from "../core/json.ts";
import type { AnyEndpoint } from "../http/endpoint.ts";
import type { Database } from "../storage/database.ts";
import { PusherStore } from "../storage/stores/pushers.ts";
import type { AccountServices } from "./accounts.ts";
import { notificationsEndpoint } from "./api/client/notifications.ts";
import { pusherEndpoints } from "./api/client/pushers.ts";
import { systemResolver } from "./federation/dns.ts";
import { readCaFiles } from "./federation/federation.ts";
import { IpRangePolicy } from "./federation/ip-ranges.ts";
import { HttpsTransport } from "./federation/transport.ts";
import { PushDispatcher } from "./push/dispatcher.ts";
import { EventPusher } from "./push/event-pusher.ts";
import { NotificationsService } from "./push/notifications.ts";
import { PushGatewayClient } from "./push/gateway-client.ts";
import { PUSH_RULES_TYPE } from "./push/push-rules-service.ts";
import { PusherService } from "./push/pusher-service.ts";
import { PushRecipients, type MemberSource } from "./push/recipients.ts";
import { RoomFacts, type RoomStateSource } from "./push/room-facts.ts";
import { RulesetCache } from "./push/ruleset-cache.ts";
import type { MembershipEntry, Membership } from "./rooms/membership-index.ts";
import type { OutputListener, RoomEventInfo } from "./roomserver/index.ts";
import type { ReadUpTo } from "./sync/receipts.ts";
import type { UnreadRules } from "./sync/unread-counts.ts";
import { ruleJudge } from "./push/rule-judge.ts";

export interface PushServices {
  /** The users' push rules applied to events, for /sync's unread counts. */
  readonly unreadRules: UnreadRules;
  readonly pushers: PusherService;
  readonly eventPusher: EventPusher;
  readonly dispatcher: PushDispatcher;
  readonly endpoints: readonly AnyEndpoint[];
  close(): Promise<void>;
}

export interface PushServicesDeps {
  readonly config: HomeserverConfig;
  readonly db: Database;
  readonly logger: Logger;
  /** The room engine: its outputs, and the rooms' current state. */
  readonly roomOutputs: { subscribe(listener: OutputListener): () => void };
  readonly roomState: RoomStateSource;
  /** The membership index. */
  readonly members: MemberSource & {
    readonly position: number;
    roomsForUser(userId: string, memberships?: readonly Membership[]): Promise<MembershipEntry[]>;
  };
  /** What GET /notifications reads of rooms' past events. */
  readonly history: {
    /** At most `limit` events of the room in (after, upTo], newest first. */
    eventsBefore(roomId: string, after: number, upTo: number | undefined, limit: number): Promise<RoomEventInfo[]>;
    /** Events as the user's client sees them, without room_id. */
    serialize(userId: string, events: readonly RoomEventInfo[]): Promise<JsonObject[]>;
    /** Where the user has read up to in each room. */
    readUpTo(userId: string): Promise<ReadonlyMap<string, ReadUpTo>>;
  };
  readonly accounts: AccountServices;
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
  /** The user's unread notification count over their rooms (sync's), up to a room-stream position at least. */
  readonly unreadCount: (userId: string, upTo: number) => Promise<number>;
}

export async function createPushServices(deps: PushServicesDeps): Promise<PushServices> {
  const { config, accounts } = deps;
  const log = deps.logger.child({ component: "push" });
  const onError = (error: unknown, what: string) => log.error({ err: error }, what);

  const pushers = new PusherService(new PusherStore(deps.db));
  await pushers.load();
  // Pushers go with the device that set them, and with their user.
  accounts.devices.onDevicesDeleted((userId, deviceIds) => pushers.devicesDeleted(userId, deviceIds));
  accounts.accounts.onDeactivated((userId) => pushers.userDeactivated(userId));

  const rulesets = new RulesetCache((userId) => accounts.pushRules.ruleset(userId));
  accounts.accountData.onChange((change) => {
    if (change.type === PUSH_RULES_TYPE && change.roomId === undefined) rulesets.changed(change.userId);
  });

  // Push gateways are reached over HTTPS (pusher.yaml `data.url`), never at an address ip_range_blacklist blocks.
  const transport = new HttpsTransport({
    resolver: systemResolver,
    ipRanges: new IpRangePolicy(config.ipRangeBlocklist, config.ipRangeAllowlist),
    verifyCertificates: true,
    // The CAs an admin added for outbound TLS (federation_custom_ca_list) are trusted for push
    // gateways too, beside the system's: a gateway on a private network is reached as a server is.
    extraCaCertificates: await readCaFiles(config.federationCustomCaList),
  });
  const dispatcher = new PushDispatcher({
    gateway: new PushGatewayClient(transport),
    pushers,
    unreadCount: deps.unreadCount,
    onError,
    onGiveUp: (key, eventId, error) => log.warn({ err: error, userId: key.userId, appId: key.appId, eventId }, "push: giving up on a notification"),
  });
  pushers.onRemoved((key) => dispatcher.drop(key));

  const eventPusher = new EventPusher({
    source: deps.roomOutputs,
    pushers,
    recipients: new PushRecipients(deps.members, pushers),
    rulesets,
    ignoredUsers: deps.ignoredUsers,
    roomFacts: (roomId) => new RoomFacts(deps.roomState, roomId),
    enqueue: (notification) => dispatcher.enqueue(notification),
    onError,
    onDropped: (count) => log.warn({ count }, "push: events dropped unevaluated, the queue was full"),
  });
  eventPusher.start();

  const { members } = deps;
  const notifications = new NotificationsService({
    // Read once the index has applied what the room engine has put out.
    joinedRooms: async (userId) => {
      await members.waitUntil(members.position);
      return await members.roomsForUser(userId, ["join"]);
    },
    eventsBefore: (roomId, after, upTo, limit) => deps.history.eventsBefore(roomId, after, upTo, limit),
    memberCount: async (roomId) => (await members.joinedMembers(roomId)).length,
    roomFacts: (roomId) => new RoomFacts(deps.roomState, roomId),
    ruleset: (userId) => rulesets.of(userId),
    ignoredUsers: deps.ignoredUsers,
    readUpTo: (userId) => deps.history.readUpTo(userId),
    serialize: (userId, events) => deps.history.serialize(userId, events),
  });

  const unreadRules: UnreadRules = {
    judge: async (userId, roomId) => {
      const [ruleset, members] = await Promise.all([rulesets.of(userId), deps.members.joinedMembers(roomId)]);
      const judge = await ruleJudge(userId, ruleset, new RoomFacts(deps.roomState, roomId), members.length);
      return async (event) => {
        const outcome = await judge(event);
        return { notify: outcome?.notify === true, highlight: outcome?.notify === true && outcome.highlight };
      };
    },
  };

  return {
    unreadRules,
    pushers,
    eventPusher,
    dispatcher,
    endpoints: [...pusherEndpoints(pushers), notificationsEndpoint(notifications)],
    close: async () => {
      await eventPusher.close();
      dispatcher.stop();
      await transport.close();
      await dispatcher.settled();
    },
  };
}
