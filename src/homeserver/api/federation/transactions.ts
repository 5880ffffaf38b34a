// PUT /_matrix/federation/v1/send/{txnId} (server-server-api#put_matrixfederationv1sendtxnid).
import type { JsonObject } from "../../../core/json.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import type { FederationReceiver } from "../../federation/receiver.ts";
import { originOf } from "./origin.ts";

export function transactionEndpoints(receiver: FederationReceiver): Endpoint[] {
  const send: Endpoint<JsonObject> = {
    name: "federation.send_transaction",
    method: "PUT",
    paths: ["/_matrix/federation/v1/send/:txnId"],
    resource: "federation",
    auth: "federation",
    schema: {
      type: "object",
      required: ["pdus"],
      properties: { origin: { type: "string" }, origin_server_ts: { type: "integer" }, pdus: { type: "array" }, edus: { type: "array" } },
    },
    handler: async (req) => receiver.receive(originOf(req), req.params["txnId"] ?? "", req.body),
  };
  return [send];
}
