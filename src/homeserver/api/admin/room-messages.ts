// Synapse's admin API GET /_synapse/admin/v1/rooms/{roomId}/messages and .../context/{eventId}: a
// room's timeline paged as /messages pages it, and an event with those around it as /context gives
// them (the same parameters and answers), every event the server holds whatever the admin's
// membership, for reviewing a reported room or event (events/messages.ts). Server admins only.
import type { Endpoint } from "../../../http/endpoint.ts";
import type { MessagesService } from "../../events/messages.ts";
import { pathParam, roomIdParam } from "../client/event-params.ts";
import { contextRequestOf, messagesRequestOf } from "../client/messages.ts";
import { requesterOf } from "../client/requester.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

export function roomMessagesAdminEndpoints(messages: Pick<MessagesService, "adminMessages" | "adminContext">, isAdmin: IsAdmin): Endpoint[] {
  const list: Endpoint = {
    name: "admin.room_messages",
    method: "GET",
    paths: ["/_synapse/admin/v1/rooms/:roomId/messages"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return await messages.adminMessages(requesterOf(req), roomIdParam(req), messagesRequestOf(req));
    },
  };
  const context: Endpoint = {
    name: "admin.room_context",
    method: "GET",
    paths: ["/_synapse/admin/v1/rooms/:roomId/context/:eventId"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return await messages.adminContext(requesterOf(req), roomIdParam(req), pathParam(req, "eventId"), contextRequestOf(req));
    },
  };
  return [list, context];
}
