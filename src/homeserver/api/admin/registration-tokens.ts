// Registration tokens at Synapse's admin API (/_synapse/admin/v1/registration_tokens), so that the
// tools admins already use work: list, create, get, update, delete; server admins only.
import { MatrixError } from "../../../core/errors.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import { registrationTokenJson, type RegistrationTokenService } from "../../users/registration-tokens.ts";
import { queryParam } from "../client/requester.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

const BASE = "/_synapse/admin/v1/registration_tokens";

interface NewTokenBody {
  token?: string;
  uses_allowed?: number | null;
  expiry_time?: number | null;
  length?: number;
}

type UpdateTokenBody = Omit<NewTokenBody, "token" | "length">;

const nullableInteger = { type: ["integer", "null"] };

export function registrationTokenAdminEndpoints(tokens: RegistrationTokenService, isAdmin: IsAdmin): Endpoint[] {
  const list: Endpoint = {
    name: "admin.registration_tokens",
    method: "GET",
    paths: [BASE],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const valid = queryParam(req, "valid");
      if (valid !== undefined && valid !== "true" && valid !== "false") throw new MatrixError("M_INVALID_PARAM", "valid must be true or false", 400);
      const found = await tokens.list(valid === undefined ? undefined : valid === "true");
      return { registration_tokens: found.map(registrationTokenJson) };
    },
  };

  const create: Endpoint<NewTokenBody> = {
    name: "admin.create_registration_token",
    method: "POST",
    paths: [`${BASE}/new`],
    resource: "client",
    auth: "accessToken",
    schema: {
      type: "object",
      properties: { token: { type: "string" }, uses_allowed: nullableInteger, expiry_time: nullableInteger, length: { type: "integer" } },
    },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const b = req.body;
      return registrationTokenJson(await tokens.create({ token: b.token, length: b.length, usesAllowed: b.uses_allowed, expiryTime: b.expiry_time }));
    },
  };

  const get: Endpoint = {
    name: "admin.registration_token",
    method: "GET",
    paths: [`${BASE}/:token`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      return registrationTokenJson(await tokens.get(req.params["token"] ?? ""));
    },
  };

  const update: Endpoint<UpdateTokenBody> = {
    name: "admin.update_registration_token",
    method: "PUT",
    paths: [`${BASE}/:token`],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", properties: { uses_allowed: nullableInteger, expiry_time: nullableInteger } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const b = req.body;
      return registrationTokenJson(await tokens.update(req.params["token"] ?? "", { usesAllowed: b.uses_allowed, expiryTime: b.expiry_time }));
    },
  };

  const remove: Endpoint = {
    name: "admin.delete_registration_token",
    method: "DELETE",
    paths: [`${BASE}/:token`],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      await tokens.delete(req.params["token"] ?? "");
      return {};
    },
  };

  return [list, create, get, update, remove];
}
