// GET /sync (client-server-api#get_matrixclientv3sync, sync.yaml): parses the query and hands it to
// the sync service.
import { MatrixError } from "../../../core/errors.ts";
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import type { Presence } from "../../sync/presence.ts";
import type { StateAfterKey } from "../../sync/response.ts";
import type { SyncService } from "../../sync/sync-service.ts";
import { timeoutParam } from "./event-params.ts";
import { queryParam, requesterOf } from "./requester.ts";

function booleanParam(req: MatrixRequest, name: string): boolean {
  const value = queryParam(req, name);
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new MatrixError("M_INVALID_PARAM", `${name} must be true or false`, 400);
}

function presenceParam(req: MatrixRequest): Presence | undefined {
  const value = queryParam(req, "set_presence");
  if (value === undefined || value === "online" || value === "offline" || value === "unavailable") return value;
  throw new MatrixError("M_INVALID_PARAM", "set_presence must be online, offline or unavailable", 400);
}

// sync.yaml `use_state_after` (v1.16); matrix-js-sdk still asks for it by MSC4222's unstable name,
// and reads the answer only under that name.
function stateAfterParam(req: MatrixRequest): StateAfterKey | undefined {
  if (booleanParam(req, "use_state_after")) return "state_after";
  if (booleanParam(req, "org.matrix.msc4222.use_state_after")) return "org.matrix.msc4222.state_after";
  return undefined;
}

export function syncEndpoints(sync: SyncService): Endpoint[] {
  const endpoint: Endpoint = {
    name: "client.sync",
    method: "GET",
    paths: clientPaths("/sync"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) =>
      sync.sync(
        requesterOf(req),
        {
          since: queryParam(req, "since"),
          filter: queryParam(req, "filter"),
          fullState: booleanParam(req, "full_state"),
          stateAfter: stateAfterParam(req),
          setPresence: presenceParam(req),
          // sync.yaml `timeout`: "By default, this is 0".
          timeoutMs: timeoutParam(req, 0),
        },
        // A client that hung up ends its long-poll at once.
        req.signal,
      ),
  };
  return [endpoint];
}
