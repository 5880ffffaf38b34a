// Reading a room's events (backfill.yaml, events.yaml, event_auth.yaml).
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import type { FederationRoomReads } from "../../federation/room-reads.ts";
import { integerQuery, originOf, queryList, requiredQuery } from "./origin.ts";

function stringArray(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new MatrixError("M_BAD_JSON", `${name} must be an array of event IDs`, 400);
  return value as string[];
}

export function roomReadEndpoints(reads: FederationRoomReads): Endpoint[] {
  const get = (name: string, path: string, handler: Endpoint["handler"]): Endpoint => ({
    name: `federation.${name}`,
    method: "GET",
    paths: [`/_matrix/federation/v1${path}`],
    resource: "federation",
    auth: "federation",
    handler,
  });
  const missingEvents: Endpoint<JsonObject> = {
    name: "federation.get_missing_events",
    method: "POST",
    paths: ["/_matrix/federation/v1/get_missing_events/:roomId"],
    resource: "federation",
    auth: "federation",
    schema: { type: "object", required: ["earliest_events", "latest_events"] },
    handler: async (req) => {
      const body = req.body;
      const limit = typeof body["limit"] === "number" ? body["limit"] : 10; // "Defaults to 10."
      const minDepth = typeof body["min_depth"] === "number" ? body["min_depth"] : 0; // "Defaults to 0."
      return reads.missingEvents(originOf(req), req.params["roomId"] ?? "", {
        earliest: stringArray(body["earliest_events"], "earliest_events"),
        latest: stringArray(body["latest_events"], "latest_events"),
        limit,
        minDepth,
      });
    },
  };
  return [
    get("event", "/event/:eventId", async (req) => reads.event(originOf(req), req.params["eventId"] ?? "")),
    get("state", "/state/:roomId", async (req) => reads.state(originOf(req), req.params["roomId"] ?? "", requiredQuery(req, "event_id"), false)),
    get("state_ids", "/state_ids/:roomId", async (req) => reads.state(originOf(req), req.params["roomId"] ?? "", requiredQuery(req, "event_id"), true)),
    get("event_auth", "/event_auth/:roomId/:eventId", async (req) => reads.eventAuth(originOf(req), req.params["roomId"] ?? "", req.params["eventId"] ?? "")),
    get("backfill", "/backfill/:roomId", async (req) => {
      const from = queryList(req, "v");
      if (from.length === 0) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: v", 400);
      return reads.backfill(originOf(req), req.params["roomId"] ?? "", from, integerQuery(req, "limit", undefined));
    }),
    get("timestamp_to_event", "/timestamp_to_event/:roomId", async (req) => {
      const dir = requiredQuery(req, "dir");
      if (dir !== "f" && dir !== "b") throw new MatrixError("M_INVALID_PARAM", "dir must be f or b", 400);
      return reads.timestampToEvent(originOf(req), req.params["roomId"] ?? "", integerQuery(req, "ts", undefined), dir);
    }),
    missingEvents as Endpoint,
  ];
}

