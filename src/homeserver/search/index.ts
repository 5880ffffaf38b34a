// Server-side search (modules/search.md), built from what the events area has: the index and its
// writer (a consumer of the room engine's outputs), the service and its endpoint.
//
//   Roomserver  <-  SearchIndexer (writes the index off the send path, catches up at start)
//   SearchStore, SearchIndexer, RoomAccess, RoomReader, EventSerializer, ResultContexts  <-  SearchService
import type { Logger } from "pino";
import type { AnyEndpoint } from "../../http/endpoint.ts";
import type { Database } from "../../storage/database.ts";
import { SearchStore } from "../../storage/stores/search.ts";
import { searchEndpoints } from "../api/client/search.ts";
import type { RoomAccess } from "../events/access.ts";
import type { RoomReader } from "../events/room-reader.ts";
import type { EventSerializer } from "../events/serializer.ts";
import type { StateLookup } from "../events/state-lookup.ts";
import type { Timeline } from "../events/timeline.ts";
import type { Roomserver } from "../roomserver/index.ts";
import { ResultContexts } from "./context.ts";
import { SearchIndexer } from "./indexer.ts";
import { SearchService, type UserRoom } from "./search-service.ts";

export type { UserRoom };

export interface Search {
  readonly service: SearchService;
  readonly indexer: SearchIndexer;
  readonly endpoints: readonly AnyEndpoint[];
  /** Stops the indexer (after the roomserver closed, before the database). */
  close(): Promise<void>;
}

export interface SearchDeps {
  readonly db: Database;
  readonly logger: Logger;
  readonly roomserver: Roomserver;
  readonly access: RoomAccess;
  readonly reader: RoomReader;
  readonly serializer: EventSerializer;
  readonly timeline: Timeline;
  readonly stateLookup: StateLookup;
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
  /** The rooms the user has a membership of (the rooms area's membership index); none when not given. */
  readonly roomsOfUser?: (userId: string) => Promise<readonly UserRoom[]>;
}

export function createSearch(deps: SearchDeps): Search {
  const { roomserver } = deps;
  const store = new SearchStore(deps.db);
  const indexer = new SearchIndexer({
    roomserver,
    store,
    streamSince: (position, limit) => roomserver.store.streamSince(position, limit),
    logger: deps.logger.child({ component: "search" }),
  });
  const contexts = new ResultContexts({
    roomserver,
    timeline: deps.timeline,
    visibility: deps.access.visibility,
    serializer: deps.serializer,
    stateLookup: deps.stateLookup,
  });
  const service = new SearchService({
    store,
    indexer,
    roomserver,
    access: deps.access,
    reader: deps.reader,
    serializer: deps.serializer,
    contexts,
    ignoredUsers: deps.ignoredUsers,
    roomsOfUser: deps.roomsOfUser ?? (() => Promise.resolve([])),
  });
  // The catch-up runs in the background: a large room stream indexed for the first time does not hold up the start.
  void indexer.start();
  return { service, indexer, endpoints: searchEndpoints(service), close: () => indexer.close() };
}
