// Application services (application-service-api), built from the config: their registrations, how
// their requests are recognised, the events and ephemeral data pushed to them, and what is asked of
// them. A part of the composition root that services.ts calls.
import type { Logger } from "pino";
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { AnyEndpoint, Connection, Requester } from "../../http/endpoint.ts";
import type { Database } from "../../storage/database.ts";
import { AppserviceStore } from "../../storage/stores/appservices.ts";
import { appserviceEndpoints } from "../api/client/appservices.ts";
import type { OutputListener, RoomEventInfo } from "../roomserver/index.ts";
import type { Appservice } from "./appservice.ts";
import { AppserviceClient } from "./client.ts";
import { EphemeralForwarder, type EphemeralSources } from "./ephemeral-forwarder.ts";
import { EventForwarder } from "./event-forwarder.ts";
import type { InterestLookups } from "./interest.ts";
import { AppserviceQueries } from "./queries.ts";
import { loadRegistrations } from "./registration.ts";
import { AppserviceRegistry, assertionOf } from "./registry.ts";
import { StreamProgress } from "./stream-progress.ts";
import { TransactionSender } from "./transaction-sender.ts";

export interface AppserviceServices {
  readonly registry: AppserviceRegistry;
  readonly queries: AppserviceQueries;
  readonly forwarder: EventForwarder;
  readonly ephemeral: EphemeralForwarder;
  readonly endpoints: readonly AnyEndpoint[];
  /**
   * The access-token check with application services first: an as_token names the service's sender
   * or the user it asserts; any other token goes to `next`.
   */
  authenticate(
    token: string,
    connection: Connection,
    query: Readonly<Record<string, unknown>> | undefined,
    next: (token: string, connection: Connection) => Promise<Requester>,
  ): Promise<Requester>;
  close(): Promise<void>;
}

export interface AppserviceDeps {
  readonly serverName: string;
  readonly files: readonly string[];
  readonly db: Database;
  readonly logger: Logger;
  readonly roomOutputs: { subscribe(listener: OutputListener): () => void };
  /** The room stream across rooms after a position, and its events: what a restart reads on from each service's position. */
  readonly streamSince: (position: number, limit: number) => Promise<ReadonlyArray<{ readonly streamOrdering: number; readonly eventId: string }>>;
  readonly getEvent: (eventId: string) => Promise<Pick<RoomEventInfo, "event" | "outlier"> | undefined>;
  /** The room stream's head now: where a newly registered service begins. */
  readonly streamHead: () => number;
  /** Settles once the room engine's batches in flight at the call have ended (and told their events). */
  readonly batchesInFlight: () => Promise<void>;
  readonly lookups: InterestLookups;
  readonly serialize: (event: RoomEvent, streamOrdering: number) => Promise<JsonObject>;
  /** Typing, receipts and presence: pushed to the services with `receive_ephemeral`. */
  readonly ephemeral: EphemeralSources;
  /** The rooms the user (of any server) is joined to: whose presence a service is sent. */
  readonly roomsOfUser: (userId: string) => Promise<readonly string[]>;
  readonly deviceExists: (userId: string, deviceId: string) => Promise<boolean>;
  /** Registers the service's sender when it is not a user yet (it acts and is invited as one). */
  readonly ensureUser: (userId: string, localpart: string) => Promise<void>;
  /** Transaction retries: the first wait, doubled each time up to the last (tests shorten them). */
  readonly backoffMs?: { readonly min: number; readonly max: number };
}

export async function createAppserviceServices(deps: AppserviceDeps): Promise<AppserviceServices> {
  const log = deps.logger.child({ component: "appservices" });
  const registry = new AppserviceRegistry(await loadRegistrations(deps.files), deps.serverName);
  for (const appservice of registry.all) await deps.ensureUser(appservice.sender, appservice.registration.senderLocalpart);
  const client = new AppserviceClient();
  const store = new AppserviceStore(deps.db);
  const progress = new StreamProgress(deps.batchesInFlight);
  const senders = new Map<Appservice, TransactionSender>();
  for (const appservice of registry.all) {
    if (appservice.registration.url === null) continue; // "null if no traffic is required"
    senders.set(
      appservice,
      new TransactionSender({
        appservice,
        store,
        client,
        log,
        forwardedUpTo: () => progress.forwardedUpTo(),
        minBackoffMs: deps.backoffMs?.min,
        maxBackoffMs: deps.backoffMs?.max,
      }),
    );
  }
  const forwarder = new EventForwarder({
    source: deps.roomOutputs,
    senders,
    progress,
    store,
    streamSince: deps.streamSince,
    getEvent: deps.getEvent,
    streamHead: deps.streamHead,
    batchesInFlight: deps.batchesInFlight,
    lookups: deps.lookups,
    serialize: deps.serialize,
    log,
  });
  forwarder.start();
  const ephemeral = new EphemeralForwarder({
    senders: new Map([...senders].filter(([appservice]) => appservice.registration.receiveEphemeral)),
    sources: deps.ephemeral,
    lookups: deps.lookups,
    streamHead: deps.streamHead,
    roomsOfUser: deps.roomsOfUser,
    positionsRead: forwarder.positionsRead,
    log,
  });
  ephemeral.start();
  if (!registry.isEmpty) log.info({ appservices: registry.all.map((a) => a.id) }, "application services registered");
  const queries = new AppserviceQueries(registry, client);
  return {
    registry,
    queries,
    forwarder,
    ephemeral,
    endpoints: appserviceEndpoints(queries),
    authenticate: async (token, connection, query, next) => {
      if (registry.isEmpty) return await next(token, connection);
      return (await registry.authenticate(token, assertionOf(query), deps.deviceExists)) ?? (await next(token, connection));
    },
    close: async () => {
      await ephemeral.close();
      await forwarder.close();
    },
  };
}
