// The push dispatcher (push-gateway-api#homeserver-behaviour): order per pusher, retries with
// exponential backoff until it gives up, bounded queues, removed and rejected pushers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import type { NotifiedEvent } from "../../../src/core/push/notification.ts";
import { PushDispatcher, type DispatcherDeps, type PendingNotification } from "../../../src/homeserver/push/dispatcher.ts";
import { GatewayError, type GatewayAnswer } from "../../../src/homeserver/push/gateway-client.ts";
import type { PusherKey, StoredPusher } from "../../../src/storage/stores/pushers.ts";

const KEY: PusherKey = { userId: "@bob:hs", appId: "app", pushkey: "key" };
const PUSHER: StoredPusher = {
  ...KEY,
  kind: "http",
  appDisplayName: "App",
  deviceDisplayName: "Phone",
  profileTag: undefined,
  lang: "en",
  data: { url: "https://gw.example/_matrix/push/v1/notify" },
  deviceId: "D",
  pushkeyTs: 0,
};

const event = (eventId: string): NotifiedEvent => ({
  eventId,
  roomId: "!r:hs",
  type: "m.room.message",
  sender: "@alice:hs",
  senderDisplayName: undefined,
  roomName: undefined,
  roomAlias: undefined,
  stateKey: undefined,
  content: {},
});
const pending = (eventId: string, key: PusherKey = KEY): PendingNotification => ({ key, event: event(eventId), streamOrdering: 1, tweaks: {} });

interface Call {
  readonly eventId: string;
  readonly at: number;
  readonly body: JsonObject;
}

function setup(answer: (call: Call, n: number) => Promise<GatewayAnswer>, over: Partial<DispatcherDeps> = {}) {
  const calls: Call[] = [];
  const removed: PusherKey[] = [];
  const gaveUp: string[] = [];
  let pushers = new Map<string, StoredPusher>([["key", PUSHER]]);
  const dispatcher = new PushDispatcher({
    gateway: {
      notify: async (_url, body) => {
        const call = { eventId: String((body["notification"] as JsonObject)["event_id"]), at: performance.now(), body };
        calls.push(call);
        return await answer(call, calls.length);
      },
    },
    pushers: {
      get: (key) => pushers.get(key.pushkey),
      removeRejected: async (key) => {
        removed.push(key);
        pushers = new Map();
      },
    },
    unreadCount: async () => 3,
    onGiveUp: (_key, eventId) => gaveUp.push(eventId),
    initialBackoffMs: 10,
    maxBackoffMs: 100,
    ...over,
  });
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(done(), "timed out");
  };
  return { dispatcher, calls, removed, gaveUp, until, setPushers: (map: Map<string, StoredPusher>) => (pushers = map) };
}

const ok = async (): Promise<GatewayAnswer> => ({ rejected: [] });

describe("push dispatcher", () => {
  it("sends a pusher's notifications in order, one at a time, with the unread count", async () => {
    let inFlight = 0;
    let most = 0;
    const { dispatcher, calls, until } = setup(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return { rejected: [] };
    });
    for (const id of ["$1", "$2", "$3"]) dispatcher.enqueue(pending(id));
    await until(() => calls.length === 3 && dispatcher.pending === 0);
    assert.deepEqual(calls.map((c) => c.eventId), ["$1", "$2", "$3"]);
    assert.equal(most, 1);
    assert.deepEqual((calls[0]?.body["notification"] as JsonObject)["counts"], { unread: 3 });
  });

  it("retries after 10, 20, 40, 80 ms, gives up before waiting past the maximum, then sends the next", async () => {
    const { dispatcher, calls, gaveUp, until } = setup(async (call) => {
      if (call.eventId === "$bad") throw new GatewayError("502");
      return { rejected: [] };
    });
    dispatcher.enqueue(pending("$bad"));
    dispatcher.enqueue(pending("$next"));
    await until(() => calls.some((c) => c.eventId === "$next"));
    const tries = calls.filter((c) => c.eventId === "$bad");
    assert.equal(tries.length, 5, "the first try and four retries");
    const gaps = tries.slice(1).map((c, i) => c.at - (tries[i] as Call).at);
    gaps.forEach((gap, i) => assert.ok(gap >= 10 * 2 ** i - 2, `gap ${i}: ${gap}`));
    assert.deepEqual(gaveUp, ["$bad"]);
  });

  it("keeps a bounded queue per pusher, dropping the oldest waiting notifications", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { dispatcher, calls, until } = setup(async (call) => {
      if (call.eventId === "$1") await gate;
      return { rejected: [] };
    }, { maxQueuedPerPusher: 3 });
    for (const id of ["$1", "$2", "$3", "$4", "$5"]) dispatcher.enqueue(pending(id));
    assert.equal(dispatcher.pending, 3);
    release();
    await until(() => dispatcher.pending === 0 && calls.length === 3);
    assert.deepEqual(calls.map((c) => c.eventId), ["$1", "$4", "$5"]);
  });

  it("removes a pusher the gateway rejects, and drops what was queued for it", async () => {
    const { dispatcher, calls, removed, until } = setup(async (call) => ({ rejected: call.eventId === "$1" ? ["key"] : ["someone-else"] }));
    dispatcher.enqueue(pending("$1"));
    dispatcher.enqueue(pending("$2"));
    await until(() => removed.length === 1 && dispatcher.pending === 0);
    assert.deepEqual(removed, [KEY]);
    assert.deepEqual(calls.map((c) => c.eventId), ["$1"], "the pusher is gone: $2 is not sent");
  });

  it("drops a removed pusher's queue and its waiting retry", async () => {
    const { dispatcher, calls, until, setPushers } = setup(async () => {
      throw new GatewayError("down");
    });
    dispatcher.enqueue(pending("$1"));
    dispatcher.enqueue(pending("$2"));
    await until(() => calls.length === 1);
    setPushers(new Map());
    dispatcher.drop(KEY);
    assert.equal(dispatcher.pending, 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls.length, 1, "no retry after the drop");
  });

  it("sends without a count when counting fails, and nothing once stopped", async () => {
    const errors: string[] = [];
    const { dispatcher, calls, until } = setup(ok, {
      unreadCount: async () => {
        throw new Error("no count");
      },
      onError: (_e, what) => errors.push(what),
    });
    dispatcher.enqueue(pending("$1"));
    await until(() => calls.length === 1);
    assert.deepEqual((calls[0]?.body["notification"] as JsonObject)["counts"], {});
    assert.equal(errors.length, 1);
    dispatcher.stop();
    dispatcher.enqueue(pending("$2"));
    await dispatcher.settled();
    assert.equal(calls.length, 1);
  });
});
