// PUT /rooms/{roomId}/typing/{userId} (modules/typing_notifications.md, typing.yaml).
import { clientPaths, type Endpoint } from "../../../http/endpoint.ts";
import type { TypingNotifications } from "../../sync/typing-notifications.ts";
import { requesterOf } from "./requester.ts";

interface TypingBody {
  readonly typing: boolean;
  readonly timeout?: number;
}

export function typingEndpoints(typing: TypingNotifications): Endpoint[] {
  const endpoint: Endpoint<TypingBody> = {
    name: "client.typing",
    method: "PUT",
    paths: clientPaths("/rooms/:roomId/typing/:userId"),
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: { typing: { type: "boolean" }, timeout: { type: "integer", minimum: 0 } },
      required: ["typing"],
    },
    handler: async (req) => {
      await typing.setTyping(requesterOf(req).userId, req.params["roomId"] ?? "", req.params["userId"] ?? "", req.body.typing, req.body.timeout);
      return {};
    },
  };
  return [endpoint];
}
