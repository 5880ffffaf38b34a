// Sends notifications to push gateways, one queue per pusher, in order, one request at a time.
// push-gateway-api#homeserver-behaviour: "If the endpoint returns an HTTP error code, the
// homeserver SHOULD retry for a reasonable amount of time using exponential backoff": a failed
// notification is tried again after 1 s, 2 s, 4 s... and given up once the wait would pass an hour
// (as Synapse does), the next one then going out. A queue holds a bounded number of notifications,
// the oldest dropped first: what a device shows last matters most, and a gateway down for long must
// not grow memory. The unread count is read when a notification is sent, so a retry says the count
// of its time.
import type { JsonObject } from "../../core/json.ts";
import { notifyRequest, type NotifiedEvent } from "../../core/push/notification.ts";
import type { PusherKey, StoredPusher } from "../../storage/stores/pushers.ts";
import type { PushGateway } from "./gateway-client.ts";
import { pusherKeyString } from "./pusher-service.ts";

/** A notification for one pusher. */
export interface PendingNotification {
  readonly key: PusherKey;
  readonly event: NotifiedEvent;
  /** The event's position in the room stream: the unread count includes it. */
  readonly streamOrdering: number;
  /** The tweaks of the rule that matched (push_notifier.yaml Device `tweaks`). */
  readonly tweaks: JsonObject;
}

export interface DispatcherDeps {
  readonly gateway: PushGateway;
  /** The pusher as set now (undefined once removed), and the removal of a rejected one. */
  readonly pushers: {
    get(key: PusherKey): StoredPusher | undefined;
    removeRejected(key: PusherKey): Promise<void>;
  };
  /** push_notifier.yaml `counts.unread` for the user, counting the room stream up to `upTo` at least. */
  readonly unreadCount: (userId: string, upTo: number) => Promise<number>;
  readonly onError?: (error: unknown, what: string) => void;
  readonly onGiveUp?: (key: PusherKey, eventId: string, error: unknown) => void;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxQueuedPerPusher?: number;
}

interface PusherQueue {
  readonly key: PusherKey;
  readonly items: PendingNotification[];
  /** A request is out or a retry is waiting: the loop runs. */
  running: boolean;
  attempt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class PushDispatcher {
  readonly #deps: DispatcherDeps;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxQueued: number;
  readonly #queues = new Map<string, PusherQueue>();
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#initialBackoffMs = deps.initialBackoffMs ?? 1000;
    this.#maxBackoffMs = deps.maxBackoffMs ?? 60 * 60 * 1000;
    this.#maxQueued = deps.maxQueuedPerPusher ?? 100;
  }

  /** Queues a notification for its pusher. */
  enqueue(notification: PendingNotification): void {
    if (this.#closed) return;
    const id = pusherKeyString(notification.key);
    let queue = this.#queues.get(id);
    if (queue === undefined) {
      queue = { key: notification.key, items: [], running: false, attempt: 0, timer: undefined };
      this.#queues.set(id, queue);
    }
    if (queue.items.length >= this.#maxQueued) queue.items.splice(queue.running ? 1 : 0, 1);
    queue.items.push(notification);
    if (!queue.running) this.#start(queue);
  }

  /** The pusher was removed: what is queued for it is dropped. */
  drop(key: PusherKey): void {
    const id = pusherKeyString(key);
    const queue = this.#queues.get(id);
    if (queue === undefined) return;
    queue.items.length = 0;
    if (queue.timer !== undefined) {
      clearTimeout(queue.timer);
      queue.timer = undefined;
      queue.running = false;
    }
    if (!queue.running) this.#queues.delete(id);
  }

  /** How many notifications wait, over all pushers (for tests and logs). */
  get pending(): number {
    let count = 0;
    for (const queue of this.#queues.values()) count += queue.items.length;
    return count;
  }

  /** Stops sending: queued notifications are dropped, waiting retries cancelled. */
  stop(): void {
    this.#closed = true;
    for (const queue of this.#queues.values()) {
      if (queue.timer !== undefined) clearTimeout(queue.timer);
      queue.items.length = 0;
    }
    this.#queues.clear();
  }

  /** Resolves once no request is out (call after stop and closing the transport). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #start(queue: PusherQueue): void {
    queue.running = true;
    const run = this.#run(queue)
      .catch((error: unknown) => this.#deps.onError?.(error, "sending push notifications"))
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  async #run(queue: PusherQueue): Promise<void> {
    const id = pusherKeyString(queue.key);
    while (!this.#closed) {
      const item = queue.items[0];
      if (item === undefined) break;
      const pusher = this.#deps.pushers.get(queue.key);
      if (pusher === undefined) {
        // Removed since it was queued for.
        queue.items.length = 0;
        break;
      }
      let failure: unknown;
      try {
        const counts = { unread: await this.#unread(queue.key.userId, item.streamOrdering) };
        const body = notifyRequest(item.event, queue.key.userId, pusher, pusher.pushkeyTs, item.tweaks, counts);
        const answer = await this.#deps.gateway.notify(String(pusher.data["url"]), body);
        if (queue.items[0] === item) queue.items.shift();
        queue.attempt = 0;
        // push_notifier.yaml `rejected`: "Homeservers must cease sending notification requests for these pushkeys and remove the associated pushers."
        if (answer.rejected.includes(pusher.pushkey)) await this.#deps.pushers.removeRejected(queue.key);
        continue;
      } catch (error) {
        failure = error;
      }
      if (this.#closed) return;
      queue.attempt++;
      const delay = this.#initialBackoffMs * 2 ** (queue.attempt - 1);
      if (delay > this.#maxBackoffMs) {
        this.#deps.onGiveUp?.(queue.key, item.event.eventId, failure);
        if (queue.items[0] === item) queue.items.shift();
        queue.attempt = 0;
        continue;
      }
      queue.timer = setTimeout(() => {
        queue.timer = undefined;
        if (this.#queues.get(id) === queue) this.#start(queue);
      }, delay);
      queue.timer.unref();
      return;
    }
    queue.running = false;
    if (queue.items.length === 0 && this.#queues.get(id) === queue) this.#queues.delete(id);
  }

  async #unread(userId: string, upTo: number): Promise<number> {
    try {
      return await this.#deps.unreadCount(userId, upTo);
    } catch (error) {
      // The notification matters more than its badge: it goes without a count.
      this.#deps.onError?.(error, "counting unread notifications for a push");
      return 0;
    }
  }
}
