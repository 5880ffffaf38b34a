import type { Endpoint } from "../../../http/endpoint.ts";
import type { ServerKeyPublisher } from "../../federation/server-keys.ts";

export function serverKeyEndpoints(publisher: ServerKeyPublisher): Endpoint[] {
  return [
    {
      name: "keys.server",
      method: "GET",
      // The `/{keyId}` form was removed from the spec, but Synapse still calls it; it answers the same.
      paths: ["/_matrix/key/v2/server", "/_matrix/key/v2/server/:keyId"],
      resource: "keys",
      auth: "none",
      handler: async () => publisher.response(),
    },
  ];
}
