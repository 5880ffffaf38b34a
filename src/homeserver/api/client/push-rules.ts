// modules/push.md#push-rules-api: pushrules.yaml. Only the `global` scope exists.
import { MatrixError } from "../../../core/errors.ts";
import type { JsonObject } from "../../../core/json.ts";
import {
  deleteRule,
  findRule,
  isRuleKind,
  putRule,
  ruleJson,
  rulesetContent,
  setRuleActions,
  setRuleEnabled,
  type RuleKind,
} from "../../../core/push/ruleset.ts";
import { clientPaths, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import type { PushRulesService } from "../../push/push-rules-service.ts";
import { nonGuestRequesterOf, queryParam } from "./requester.ts";

const RULE_PATH = "/pushrules/global/:kind/:ruleId";

function kindOf(req: MatrixRequest): RuleKind {
  const kind = req.params["kind"] ?? "";
  if (!isRuleKind(kind)) throw new MatrixError("M_INVALID_PARAM", `Unknown push rule kind: ${kind}`, 400);
  return kind;
}

export function pushRulesEndpoints(pushRules: PushRulesService): Endpoint[] {
  const all: Endpoint = {
    name: "client.push_rules",
    method: "GET",
    paths: clientPaths("/pushrules/"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => rulesetContent(await pushRules.ruleset(nonGuestRequesterOf(req).userId)),
  };
  const global: Endpoint = {
    name: "client.push_rules_global",
    method: "GET",
    paths: clientPaths("/pushrules/global/"),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => rulesetContent(await pushRules.ruleset(nonGuestRequesterOf(req).userId))["global"] as JsonObject,
  };
  const getRule: Endpoint = {
    name: "client.push_rule",
    method: "GET",
    paths: clientPaths(RULE_PATH),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ruleJson(findRule(await pushRules.ruleset(nonGuestRequesterOf(req).userId), kindOf(req), req.params["ruleId"] ?? "")),
  };
  const setRule: Endpoint<JsonObject> = {
    name: "client.set_push_rule",
    method: "PUT",
    paths: clientPaths(RULE_PATH),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object" },
    handler: async (req) => {
      const kind = kindOf(req);
      const placement = { before: queryParam(req, "before"), after: queryParam(req, "after") };
      await pushRules.change(nonGuestRequesterOf(req).userId, (ruleset) => putRule(ruleset, kind, req.params["ruleId"] ?? "", req.body, placement));
      return {};
    },
  };
  const removeRule: Endpoint = {
    name: "client.delete_push_rule",
    method: "DELETE",
    paths: clientPaths(RULE_PATH),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      const kind = kindOf(req);
      await pushRules.change(nonGuestRequesterOf(req).userId, (ruleset) => deleteRule(ruleset, kind, req.params["ruleId"] ?? ""));
      return {};
    },
  };
  const getEnabled: Endpoint = {
    name: "client.push_rule_enabled",
    method: "GET",
    paths: clientPaths(`${RULE_PATH}/enabled`),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({
      enabled: findRule(await pushRules.ruleset(nonGuestRequesterOf(req).userId), kindOf(req), req.params["ruleId"] ?? "").enabled,
    }),
  };
  const setEnabled: Endpoint<{ enabled: boolean }> = {
    name: "client.set_push_rule_enabled",
    method: "PUT",
    paths: clientPaths(`${RULE_PATH}/enabled`),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["enabled"], properties: { enabled: { type: "boolean" } } },
    handler: async (req) => {
      const kind = kindOf(req);
      await pushRules.change(nonGuestRequesterOf(req).userId, (ruleset) => setRuleEnabled(ruleset, kind, req.params["ruleId"] ?? "", req.body.enabled));
      return {};
    },
  };
  const getActions: Endpoint = {
    name: "client.push_rule_actions",
    method: "GET",
    paths: clientPaths(`${RULE_PATH}/actions`),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({
      actions: [...findRule(await pushRules.ruleset(nonGuestRequesterOf(req).userId), kindOf(req), req.params["ruleId"] ?? "").actions],
    }),
  };
  const setActions: Endpoint<JsonObject> = {
    name: "client.set_push_rule_actions",
    method: "PUT",
    paths: clientPaths(`${RULE_PATH}/actions`),
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["actions"], properties: { actions: { type: "array" } } },
    handler: async (req) => {
      const kind = kindOf(req);
      await pushRules.change(nonGuestRequesterOf(req).userId, (ruleset) => setRuleActions(ruleset, kind, req.params["ruleId"] ?? "", req.body["actions"] ?? null));
      return {};
    },
  };
  return [all, global, getRule, setRule, removeRule, getEnabled, setEnabled, getActions, setActions];
}
