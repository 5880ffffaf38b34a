// Pushers as POST /pushers/set takes them and GET /pushers gives them (pusher.yaml), and the checks
// the spec asks of them. Pure: storing them and sending to them are the push service's.
import { MatrixError } from "../errors.ts";
import { utf8Length } from "../identifiers/common.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../json.ts";

/** The pusher kind this server sends with: HTTP pokes to a push gateway (pusher.yaml `kind`). */
export const HTTP_PUSHER = "http";

/** push-gateway-api: the only path a gateway serves notifications on (pusher.yaml `data.url`). */
export const NOTIFY_PATH = "/_matrix/push/v1/notify";

/** pusher.yaml `data.format`: the one format the spec defines. */
export const EVENT_ID_ONLY = "event_id_only";

// pusher.yaml: "app_id ... Max length, 64 chars", "pushkey ... Max length, 512 bytes".
const MAX_APP_ID_CHARS = 64;
const MAX_PUSHKEY_BYTES = 512;

/** A pusher as the user set it. */
export interface Pusher {
  readonly kind: string;
  readonly appId: string;
  readonly pushkey: string;
  readonly appDisplayName: string;
  readonly deviceDisplayName: string;
  readonly profileTag: string | undefined;
  readonly lang: string;
  /** pusher.yaml PusherData: `url`, `format` and whatever custom keys the client gave. */
  readonly data: JsonObject;
}

/** What one POST /pushers/set asks for. */
export type PusherChange =
  | { readonly op: "delete"; readonly appId: string; readonly pushkey: string }
  | { readonly op: "set"; readonly pusher: Pusher; readonly append: boolean };

function badJson(message: string): MatrixError {
  return new MatrixError("M_BAD_JSON", message, 400);
}

function optionalString(body: JsonObject, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw badJson(`'${name}' must be a string`);
  return value;
}

/** Checks the body of POST /pushers/set (pusher.yaml). Throws the spec's 400s. */
export function parsePusherChange(body: JsonObject): PusherChange {
  const appId = body["app_id"];
  const pushkey = body["pushkey"];
  const kind = body["kind"];
  const missing = ["kind", "app_id", "pushkey"].filter((name) => body[name] === undefined);
  if (missing.length > 0) throw new MatrixError("M_MISSING_PARAM", `Missing parameters: ${missing.join(", ")}`, 400);
  if (typeof appId !== "string" || typeof pushkey !== "string") throw badJson("'app_id' and 'pushkey' must be strings");
  if (kind !== null && typeof kind !== "string") throw badJson("'kind' must be a string or null");
  if (Array.from(appId).length > MAX_APP_ID_CHARS) throw new MatrixError("M_INVALID_PARAM", `app_id may be at most ${MAX_APP_ID_CHARS} characters`, 400);
  if (utf8Length(pushkey) > MAX_PUSHKEY_BYTES) throw new MatrixError("M_INVALID_PARAM", `pushkey may be at most ${MAX_PUSHKEY_BYTES} bytes`, 400);
  // pusher.yaml: "If kind is null, the pusher with this app_id and pushkey for this user is deleted."
  if (kind === null) return { op: "delete", appId, pushkey };

  // pusher.yaml: app_display_name, device_display_name, lang and data are "Required if kind is not null".
  const absent = ["app_display_name", "device_display_name", "lang", "data"].filter((name) => body[name] === undefined);
  if (absent.length > 0) throw new MatrixError("M_MISSING_PARAM", `Missing parameters: ${absent.join(", ")}`, 400);
  const appDisplayName = optionalString(body, "app_display_name") as string;
  const deviceDisplayName = optionalString(body, "device_display_name") as string;
  const lang = optionalString(body, "lang") as string;
  const profileTag = optionalString(body, "profile_tag");
  const data = body["data"];
  if (!isJsonObject(data)) throw badJson("'data' must be an object");
  const append = body["append"] ?? false;
  if (typeof append !== "boolean") throw badJson("'append' must be a boolean");
  // Email pushers need the mailer and verified addresses this server does not have.
  if (kind !== HTTP_PUSHER) throw new MatrixError("M_INVALID_PARAM", `Unsupported pusher kind: ${kind}`, 400);
  checkHttpData(data);
  return { op: "set", pusher: { kind, appId, pushkey, appDisplayName, deviceDisplayName, profileTag, lang, data }, append };
}

/**
 * pusher.yaml PusherData for `http`: `url` is required, with "a path of /_matrix/push/v1/notify".
 * The spec also says "MUST be an HTTPS URL" (of the client); like Synapse we take http too, for a
 * gateway on the same host or behind a proxy: refusing it would only break such setups, the
 * request goes where the user's own client said. `format` only changes what is sent when it is
 * `event_id_only`, the one format the spec defines.
 */
function checkHttpData(data: JsonObject): void {
  const url = data["url"];
  if (url === undefined) throw new MatrixError("M_MISSING_PARAM", "'url' is required in data for http pushers", 400);
  if (typeof url !== "string") throw badJson("'data.url' must be a string");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MatrixError("M_INVALID_PARAM", "'data.url' is not a URL", 400);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new MatrixError("M_INVALID_PARAM", "'data.url' must be an http or https URL", 400);
  if (parsed.pathname !== NOTIFY_PATH) throw new MatrixError("M_INVALID_PARAM", `'data.url' must have the path ${NOTIFY_PATH}`, 400);
  const format = data["format"];
  if (format !== undefined && typeof format !== "string") throw badJson("'data.format' must be a string");
}

/** A pusher as GET /pushers answers it (pusher.yaml Pusher). */
export function pusherJson(pusher: Pusher): JsonObject {
  const json: Record<string, JsonValue> = {
    pushkey: pusher.pushkey,
    kind: pusher.kind,
    app_id: pusher.appId,
    app_display_name: pusher.appDisplayName,
    device_display_name: pusher.deviceDisplayName,
    lang: pusher.lang,
    data: pusher.data,
  };
  if (pusher.profileTag !== undefined) json["profile_tag"] = pusher.profileTag;
  return json;
}
