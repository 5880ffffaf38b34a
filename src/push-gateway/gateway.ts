// The push gateway (push-gateway-api): POST /_matrix/push/v1/notify takes a homeserver's
// notification and hands it to each device's provider (APNs, FCM, Web Push) by the device's app ID;
// it answers the pushkeys a provider refused for good, which the homeserver then drops.
import type { FastifyBaseLogger } from "fastify";
import { MatrixError } from "../core/errors.ts";
import { rememberRecent } from "../core/recent-map.ts";
import type { Endpoint } from "../http/endpoint.ts";
import { healthEndpoint } from "../http/health.ts";
import { startListeners } from "../http/listeners.ts";
import type { BoundAddress } from "../http/listeners.ts";
import { ApnsPusher } from "./apns.ts";
import type { ApnsOptions } from "./apns.ts";
import type { AppConfig, PushGatewayConfig } from "./config.ts";
import { FcmPusher } from "./fcm.ts";
import { NOTIFY_SCHEMA, PushDispatchError } from "./notification.ts";
import type { Device, Notification, PushOutcome, Pusher } from "./notification.ts";
import { WebPushPusher } from "./webpush.ts";

/** How many (event, device) deliveries are remembered to drop a homeserver's retry of them. */
const DELIVERIES_REMEMBERED = 50_000;

export class PushGateway {
  /** By app ID or `*`-pattern, in the configuration's order. */
  readonly #apps: ReadonlyMap<string, Pusher>;
  readonly #patterns: ReadonlyArray<{ pattern: RegExp; pusher: Pusher }>;
  readonly #logger: FastifyBaseLogger;
  readonly #delivered = new Map<string, true>();

  constructor(apps: ReadonlyMap<string, Pusher>, logger: FastifyBaseLogger) {
    this.#apps = apps;
    this.#logger = logger;
    this.#patterns = [...apps]
      .filter(([appId]) => appId.includes("*"))
      .map(([appId, pusher]) => ({ pattern: new RegExp(`^${appId.split("*").map(escapeRegExp).join(".+")}$`), pusher }));
  }

  /**
   * Pushes to every device, side by side, and answers the pushkeys refused for good. A provider's
   * passing failure fails the whole request (502), so that the homeserver tries again later
   * (push-gateway-api "Homeserver behaviour"); the devices already reached are not pushed twice
   * then (push_notifier.yaml: "duplicate suppression ... using the `event_id` field").
   */
  async notify(n: Notification): Promise<{ rejected: string[] }> {
    const outcomes = await Promise.allSettled(n.devices.map((device) => this.#pushOnce(n, device)));
    const rejected: string[] = [];
    let failure: unknown;
    outcomes.forEach((outcome, i) => {
      const device = n.devices[i] as Device;
      if (outcome.status === "rejected") failure ??= outcome.reason;
      else if (outcome.value === "rejected") rejected.push(device.pushkey);
    });
    if (failure !== undefined) {
      this.#logger.warn({ err: failure, eventId: n.event_id }, "push gateway: a push failed; the homeserver is asked to try again");
      throw new MatrixError("M_UNKNOWN", `A push provider failed: ${failure instanceof Error ? failure.message : String(failure)}`, 502);
    }
    return { rejected };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#apps.values()].map((pusher) => pusher.close()));
  }

  async #pushOnce(n: Notification, device: Device): Promise<PushOutcome> {
    const pusher = this.#pusherFor(device.app_id);
    // Sygnal's answer for an app it does not serve, or one two patterns match: the pushkey is refused.
    if (pusher === undefined) {
      this.#logger.info({ appId: device.app_id }, "push gateway: a notification for an app not served here");
      return "rejected";
    }
    const key = n.event_id === undefined ? undefined : `${n.event_id}\u0000${device.app_id}\u0000${device.pushkey}`;
    if (key !== undefined && this.#delivered.has(key)) return "delivered";
    let outcome: PushOutcome;
    try {
      outcome = await pusher.push(n, device);
    } catch (err) {
      if (err instanceof PushDispatchError) throw err;
      // A bug of ours, or something the provider's client did not expect: said as a passing failure, and logged.
      this.#logger.error({ err, appId: device.app_id }, "push gateway: a push failed unexpectedly");
      throw new PushDispatchError(`the push to ${device.app_id} failed`);
    }
    if (outcome === "dropped") this.#logger.warn({ appId: device.app_id, eventId: n.event_id }, "push gateway: the provider refused this notification");
    if (key !== undefined && outcome !== "rejected") rememberRecent(this.#delivered, key, true, DELIVERIES_REMEMBERED);
    return outcome;
  }

  #pusherFor(appId: string): Pusher | undefined {
    const exact = this.#apps.get(appId);
    if (exact !== undefined) return exact;
    const matching = this.#patterns.filter(({ pattern }) => pattern.test(appId));
    return matching.length === 1 ? matching[0]?.pusher : undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** POST /_matrix/push/v1/notify (push_notifier.yaml). */
export function notifyEndpoint(gateway: PushGateway): Endpoint<{ notification: Notification }> {
  return {
    name: "push.notify",
    method: "POST",
    paths: ["/_matrix/push/v1/notify"],
    resource: "push",
    auth: "none",
    schema: NOTIFY_SCHEMA,
    handler: async (request) => await gateway.notify(request.body.notification),
  };
}

export interface PushGatewayOptions {
  /** Options of the APNs connections (a CA for a proxy or a test server). */
  readonly apns?: ApnsOptions;
}

export interface RunningPushGateway {
  readonly addresses: readonly BoundAddress[];
  close(): Promise<void>;
}

async function pusherOf(app: AppConfig, options: PushGatewayOptions): Promise<Pusher> {
  switch (app.type) {
    case "apns":
      return await ApnsPusher.create(app, options.apns);
    case "gcm":
      return await FcmPusher.create(app);
    case "webpush":
      return await WebPushPusher.create(app);
  }
}

/** Starts the gateway: every app's provider client (reading its keys), then the listener. */
export async function startPushGateway(config: PushGatewayConfig, logger: FastifyBaseLogger, options: PushGatewayOptions = {}): Promise<RunningPushGateway> {
  const apps = new Map<string, Pusher>();
  for (const [appId, app] of config.apps) {
    try {
      apps.set(appId, await pusherOf(app, options));
    } catch (err) {
      await Promise.all([...apps.values()].map((pusher) => pusher.close()));
      throw new Error(`apps.${appId}: ${(err as Error).message}`, { cause: err });
    }
  }
  const gateway = new PushGateway(apps, logger);
  const listeners = await startListeners(
    {
      endpoints: [notifyEndpoint(gateway), healthEndpoint],
      authenticateAccessToken: () => Promise.reject(new MatrixError("M_UNKNOWN_TOKEN", "The push gateway takes no access tokens", 401)),
      rateLimiters: new Map(),
      logger,
      // A notification is small: Sygnal takes what Twisted takes; a megabyte is plenty.
      maxRequestSize: 1024 * 1024,
      maxUploadSize: 0,
    },
    [{ port: config.port, bindAddresses: config.bindAddresses, resources: new Set(["push", "health"]), xForwarded: config.xForwarded }],
  );
  return {
    addresses: listeners.addresses,
    close: async () => {
      await listeners.close();
      await gateway.close();
    },
  };
}
