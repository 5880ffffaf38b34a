// Firebase Cloud Messaging, HTTP v1 API: an OAuth 2.0 access token got with the service account's
// key (a signed JWT exchanged at its token_uri, RFC 7523), then a POST per device to
// /v1/projects/{project}/messages:send. Facts from Google's FCM v1 reference and Sygnal's use.
import { createPrivateKey, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { request } from "undici";
import type { JsonObject, JsonValue } from "../core/json.ts";
import { isJsonObject } from "../core/json.ts";
import type { FcmAppConfig } from "./config.ts";
import { PushDispatchError, notificationFields } from "./notification.ts";
import type { Device, Notification, PushOutcome, Pusher } from "./notification.ts";

const FCM_API = "https://fcm.googleapis.com";
const SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
/** FCM's limit for a message's data. */
const MAX_DATA_BYTES = 4096;
const REQUEST_TIMEOUT_MS = 10_000;

interface ServiceAccount {
  readonly projectId: string | undefined;
  readonly clientEmail: string;
  readonly key: KeyObject;
  readonly tokenUri: string;
}

export class FcmPusher implements Pusher {
  readonly #account: ServiceAccount;
  readonly #projectId: string;
  readonly #api: string;
  #token: { value: string; expiresAt: number } | undefined;
  #tokenRequest: Promise<string> | undefined;

  private constructor(config: FcmAppConfig, account: ServiceAccount, projectId: string) {
    this.#account = account;
    this.#projectId = projectId;
    this.#api = (config.apiUrl ?? FCM_API).replace(/\/+$/, "");
  }

  static async create(config: FcmAppConfig): Promise<FcmPusher> {
    const account = parseServiceAccount(await readFile(config.serviceAccountFile, "utf8"), config.serviceAccountFile);
    const projectId = config.projectId ?? account.projectId;
    if (projectId === undefined) throw new Error(`${config.serviceAccountFile} names no project_id: set project_id`);
    return new FcmPusher(config, account, projectId);
  }

  async push(n: Notification, device: Device): Promise<PushOutcome> {
    const message = fcmMessage(n, device);
    let answer = await this.#send(message, await this.#accessToken());
    if (answer.status === 401) {
      // The token was revoked or expired early: one more, once.
      this.#token = undefined;
      answer = await this.#send(message, await this.#accessToken());
    }
    if (answer.status === 200) return "delivered";
    // UNREGISTERED (404), a token FCM does not take (400 INVALID_ARGUMENT), one of another sender (403 SENDER_ID_MISMATCH).
    if (answer.status === 404 || answer.status === 403 || (answer.status === 400 && answer.code === "INVALID_ARGUMENT")) return "rejected";
    if (answer.status === 400) return "dropped";
    throw new PushDispatchError(`FCM answered ${answer.status} ${answer.code}`);
  }

  async close(): Promise<void> {
    // undici's global pool keeps no process alive.
  }

  async #send(message: JsonObject, accessToken: string): Promise<{ status: number; code: string }> {
    let response;
    try {
      response = await request(`${this.#api}/v1/projects/${encodeURIComponent(this.#projectId)}/messages:send`, {
        method: "POST",
        headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({ message }),
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
    } catch (err) {
      throw new PushDispatchError(`FCM could not be reached: ${(err as Error).message}`);
    }
    const text = await response.body.text();
    let code = "";
    try {
      const body = JSON.parse(text) as unknown;
      const error = isJsonObject(body) ? body["error"] : undefined;
      if (isJsonObject(error) && typeof error["status"] === "string") code = error["status"];
    } catch {
      // not JSON: the status says enough
    }
    return { status: response.statusCode, code };
  }

  /** A cached access token, asked for again a minute before it expires; one request at a time. */
  async #accessToken(): Promise<string> {
    const token = this.#token;
    if (token !== undefined && Date.now() < token.expiresAt - 60_000) return token.value;
    this.#tokenRequest ??= this.#requestToken().finally(() => {
      this.#tokenRequest = undefined;
    });
    return await this.#tokenRequest;
  }

  async #requestToken(): Promise<string> {
    const { clientEmail, key, tokenUri } = this.#account;
    const now = Math.floor(Date.now() / 1000);
    const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT" })).toString("base64url");
    const claims = Buffer.from(JSON.stringify({ iss: clientEmail, scope: SCOPE, aud: tokenUri, iat: now, exp: now + 3600 })).toString("base64url");
    const assertion = `${header}.${claims}.${sign("sha256", Buffer.from(`${header}.${claims}`), key).toString("base64url")}`;
    let response;
    try {
      response = await request(tokenUri, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString(),
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
    } catch (err) {
      throw new PushDispatchError(`Google's token endpoint could not be reached: ${(err as Error).message}`);
    }
    const text = await response.body.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const value = isJsonObject(body) ? body["access_token"] : undefined;
    if (response.statusCode !== 200 || typeof value !== "string") {
      throw new PushDispatchError(`Google's token endpoint answered ${response.statusCode} without an access token`);
    }
    const expiresIn = isJsonObject(body) && typeof body["expires_in"] === "number" ? body["expires_in"] : 3600;
    this.#token = { value, expiresAt: Date.now() + expiresIn * 1000 };
    return value;
  }
}

function parseServiceAccount(text: string, path: string): ServiceAccount {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not JSON`);
  }
  if (!isJsonObject(json) || typeof json["client_email"] !== "string" || typeof json["private_key"] !== "string") {
    throw new Error(`${path} is not a service account key (client_email and private_key)`);
  }
  return {
    projectId: typeof json["project_id"] === "string" ? json["project_id"] : undefined,
    clientEmail: json["client_email"],
    key: createPrivateKey(json["private_key"]),
    tokenUri: typeof json["token_uri"] === "string" ? json["token_uri"] : "https://oauth2.googleapis.com/token",
  };
}

/**
 * The FCM message for a device: the notification's fields as `data` (FCM carries strings only, so
 * objects go as JSON, as Sygnal sends them), high priority unless the notification is low, and the
 * pusher's `default_payload` laid over the message (an app's own `android` or `notification`
 * settings). Too large, the data loses the event's content.
 */
export function fcmMessage(n: Notification, device: Device): JsonObject {
  const data = stringValues(notificationFields(n, undefined));
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES) delete data["content"];
  const defaults = device.data?.["default_payload"];
  const base: Record<string, JsonValue> = isJsonObject(defaults) ? { ...defaults } : {};
  const android = isJsonObject(base["android"]) ? base["android"] : {};
  const extraData = isJsonObject(base["data"]) ? stringValues(base["data"]) : {};
  return {
    ...base,
    token: device.pushkey,
    data: { ...extraData, ...data },
    android: { priority: n.prio === "low" ? "normal" : "high", ...android },
  };
}

function stringValues(fields: Readonly<Record<string, JsonValue>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) out[name] = typeof value === "string" ? value : JSON.stringify(value);
  return out;
}
