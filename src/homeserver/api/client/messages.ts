// client-server-api#getting-events-for-a-room: message_pagination.yaml (GET /messages),
// event_context.yaml (GET /context/{eventId}) and room_event_by_timestamp.yaml
// (GET /v1/timestamp_to_event).
import { MatrixError } from "../../../core/errors.ts";
import { DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT } from "../../../core/filters/index.ts";
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import type { ContextRequest, MessagesRequest, MessagesService } from "../../events/messages.ts";
import { directionParam, limitParam, pathParam, roomEventFilterParam, roomIdParam, tokenParam } from "./event-params.ts";
import { nonGuestRequesterOf, queryParam, requesterOf } from "./requester.ts";

/** The paging parameters of GET /messages (message_pagination.yaml): from, to, dir, limit, filter. */
export function messagesRequestOf(req: MatrixRequest): MessagesRequest {
  const from = tokenParam(req, "from");
  return {
    from: from.position,
    fromToken: from.token,
    to: tokenParam(req, "to").position,
    // `dir` is required; a request without it pages forwards, as Synapse does.
    dir: directionParam(req, "f"),
    limit: limitParam(req, DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT),
    filter: roomEventFilterParam(req),
  };
}

/** The parameters of GET /context/{eventId} (event_context.yaml): limit, filter. */
export function contextRequestOf(req: MatrixRequest): ContextRequest {
  return { limit: limitParam(req, DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT), filter: roomEventFilterParam(req) };
}

export function messagesEndpoints(messages: MessagesService): Endpoint[] {
  const list: Endpoint = {
    name: "client.messages",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/messages"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await messages.messages(requesterOf(req), roomIdParam(req), messagesRequestOf(req)),
  };

  const context: Endpoint = {
    name: "client.context",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/context/:eventId"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => await messages.context(requesterOf(req), roomIdParam(req), pathParam(req, "eventId"), contextRequestOf(req)),
  };

  const byTimestamp: Endpoint = {
    name: "client.timestamp_to_event",
    method: "GET",
    paths: clientPaths("/rooms/:roomId/timestamp_to_event", { versions: ["v1"], r0: false }),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const ts = queryParam(req, "ts");
      if (ts === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: ts", 400);
      if (!/^[0-9]+$/.test(ts) || !Number.isSafeInteger(Number(ts))) throw new MatrixError("M_INVALID_PARAM", "ts must be a timestamp in milliseconds", 400);
      if (queryParam(req, "dir") === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing parameter: dir", 400);
      return await messages.timestampToEvent(nonGuestRequesterOf(req), roomIdParam(req), Number(ts), directionParam(req, "f"));
    },
  };

  return [list, context, byTimestamp];
}
