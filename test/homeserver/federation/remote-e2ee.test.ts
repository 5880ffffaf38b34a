import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject } from "../../../src/core/json.ts";
import type { DirectToDeviceEdu } from "../../../src/homeserver/e2ee/to-device-service.ts";
import { directToDeviceHandler, remoteKeyQuerier, remoteToDeviceSender } from "../../../src/homeserver/federation/remote-e2ee.ts";
import type { Edu } from "../../../src/homeserver/federation/sender.ts";

describe("the federation side of e2ee", () => {
  it("takes m.direct_to_device EDUs only from the sender's own server, well formed", async () => {
    const received: Array<[string, DirectToDeviceEdu]> = [];
    const handler = directToDeviceHandler(async (origin, edu) => void received.push([origin, edu]));
    const edu = { sender: "@a:one.test", type: "m.room_key_request", message_id: "m1", messages: { "@b:two.test": { DEV: { x: 1 } } } };
    await handler("one.test", edu);
    await handler("other.test", edu);
    await handler("one.test", { ...edu, messages: { "@b:two.test": "nope" } });
    await handler("one.test", { ...edu, message_id: 5 });
    assert.deepEqual(received, [["one.test", edu]]);
  });

  it("sends to-device messages as EDUs and asks for keys at the spec's paths", async () => {
    const queued: Array<[string, Edu]> = [];
    const edu: DirectToDeviceEdu = { sender: "@a:one.test", type: "t", message_id: "m", messages: {} };
    await remoteToDeviceSender((d, e) => void queued.push([d, e])).send("two.test", edu);
    assert.deepEqual(queued, [["two.test", { edu_type: "m.direct_to_device", content: edu as unknown as JsonObject }]]);
    const posts: Array<[string, string, JsonObject, number | undefined]> = [];
    const querier = remoteKeyQuerier({ post: async (d, p, b, o) => (posts.push([d, p, b, o?.timeoutMs]), {}) });
    await querier.queryKeys("two.test", { "@b:two.test": [] }, 5000);
    await querier.claimKeys("two.test", { "@b:two.test": { DEV: "signed_curve25519" } }, 6000);
    assert.deepEqual(posts, [
      ["two.test", "/_matrix/federation/v1/user/keys/query", { device_keys: { "@b:two.test": [] } }, 5000],
      ["two.test", "/_matrix/federation/v1/user/keys/claim", { one_time_keys: { "@b:two.test": { DEV: "signed_curve25519" } } }, 6000],
    ]);
  });
});
