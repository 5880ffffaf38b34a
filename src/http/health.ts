import { HttpReply, type Endpoint } from "./endpoint.ts";

/** A health check for load balancers and orchestrators, at Synapse's (and Sygnal's) path. */
export const healthEndpoint: Endpoint = {
  name: "health",
  method: "GET",
  paths: ["/health"],
  resource: "health",
  auth: "none",
  handler: async () => HttpReply.raw(200, "OK", "text/plain; charset=utf-8"),
};
