// The filter definitions of the spec as JSON Schema (data/api/client-server/definitions/
// event_filter.yaml, room_event_filter.yaml, sync_filter.yaml), for uploaded and inline filters.
import type { JsonSchema } from "../../http/endpoint.ts";

const stringList: JsonSchema = { type: "array", items: { type: "string" } };
const userIdList: JsonSchema = { type: "array", items: { type: "string", pattern: "^@" } };
const roomIdList: JsonSchema = { type: "array", items: { type: "string", pattern: "^!" } };

/** EventFilter. `limit`: "must be an integer greater than 0". */
export const eventFilterSchema: JsonSchema = {
  type: "object",
  properties: {
    limit: { type: "integer", minimum: 1 },
    not_senders: userIdList,
    not_types: stringList,
    senders: userIdList,
    types: stringList,
  },
};

/** RoomEventFilter: an EventFilter with the room-level fields. */
export const roomEventFilterSchema: JsonSchema = {
  allOf: [
    eventFilterSchema,
    {
      type: "object",
      properties: {
        unread_thread_notifications: { type: "boolean" },
        lazy_load_members: { type: "boolean" },
        include_redundant_members: { type: "boolean" },
        not_rooms: roomIdList,
        rooms: roomIdList,
        contains_url: { type: "boolean" },
      },
    },
  ],
};

/** Filter, the body of POST /user/{userId}/filter. */
export const filterSchema: JsonSchema = {
  type: "object",
  properties: {
    event_fields: stringList,
    event_format: { type: "string", enum: ["client", "federation"] },
    presence: eventFilterSchema,
    account_data: eventFilterSchema,
    room: {
      type: "object",
      properties: {
        not_rooms: roomIdList,
        rooms: roomIdList,
        ephemeral: roomEventFilterSchema,
        include_leave: { type: "boolean" },
        state: roomEventFilterSchema,
        timeline: roomEventFilterSchema,
        account_data: roomEventFilterSchema,
      },
    },
  },
};
