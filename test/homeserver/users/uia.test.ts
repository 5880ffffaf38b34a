import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { requestBodyHash, UiaChallenge, UserInteractiveAuth, type UiaSession, type UiaStage } from "../../../src/homeserver/users/uia.ts";

/** A stage that passes when the auth dict's `secret` is "open sesame". */
const secretStage: UiaStage = {
  type: "test.secret",
  check: async (auth) => (auth["secret"] === "open sesame" ? undefined : { errcode: "M_FORBIDDEN", error: "Wrong secret" }),
};
const dummy: UiaStage = { type: "m.login.dummy", check: async () => undefined };

function setup(options: { now?: () => number; onAbandoned?: (s: UiaSession) => void; maxSessions?: number } = {}) {
  return new UserInteractiveAuth([secretStage, dummy], { sessionLifetimeMs: 1000, ...options });
}

const twoStages = [{ stages: ["m.login.dummy", "test.secret"] }];

async function challenge(run: Promise<unknown>): Promise<UiaChallenge> {
  const error = await run.then(
    () => assert.fail("expected a 401 challenge"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof UiaChallenge, String(error));
  return error;
}

describe("user-interactive authentication", () => {
  it("answers the spec's 401 shape: flows, params and session, no errcode before an attempt", async () => {
    const uia = setup();
    const c = await challenge(uia.authenticate({ endpoint: "POST /x", userId: "@a:hs", body: { a: 1 }, flows: twoStages, params: { "test.secret": { hint: "sesame" } } }));
    assert.equal(c.status, 401);
    const body = c.toJSON();
    assert.deepEqual(Object.keys(body).sort(), ["flows", "params", "session"]);
    assert.deepEqual(body["flows"], twoStages);
    assert.deepEqual(body["params"], { "test.secret": { hint: "sesame" } });
  });

  it("completes stages in a flow's order, reports them, and is used up when the flow is done", async () => {
    const uia = setup();
    const request = (auth?: JsonObject) => ({ endpoint: "POST /x", userId: "@a:hs", body: { a: 1, ...(auth === undefined ? {} : { auth }) }, flows: twoStages });
    const session = (await challenge(uia.authenticate(request()))).body["session"] as string;
    // Out of order: test.secret is the second stage.
    const outOfOrder = await challenge(uia.authenticate(request({ type: "test.secret", secret: "open sesame", session })));
    assert.equal(outOfOrder.toJSON()["errcode"], "M_UNRECOGNIZED");
    const afterDummy = await challenge(uia.authenticate(request({ type: "m.login.dummy", session })));
    assert.deepEqual(afterDummy.toJSON()["completed"], ["m.login.dummy"]);
    const failed = await challenge(uia.authenticate(request({ type: "test.secret", secret: "wrong", session })));
    assert.deepEqual(failed.toJSON(), { errcode: "M_FORBIDDEN", error: "Wrong secret", ...afterDummy.body });
    // Retrying a completed stage is harmless: the answer still says what is completed.
    await challenge(uia.authenticate(request({ type: "m.login.dummy", session })));
    const done = await uia.authenticate(request({ type: "test.secret", secret: "open sesame", session }));
    assert.deepEqual(done.completed, ["m.login.dummy", "test.secret"]);
    assert.equal(uia.sessionCount, 0);
    // client-server-api#user-interactive-authentication-api: a retry of a completed flow gets "a 401
    // response with the completed stages" (never the request run a second time).
    const retried = await challenge(uia.authenticate(request({ type: "test.secret", secret: "open sesame", session })));
    assert.deepEqual(retried.toJSON(), { flows: twoStages, params: {}, session, completed: ["m.login.dummy", "test.secret"] });
    // Still bound to its request.
    await assert.rejects(uia.authenticate({ ...request({ type: "test.secret", secret: "open sesame", session }), userId: "@b:hs" }), { errcode: "M_FORBIDDEN", status: 403 });
    await assert.rejects(uia.authenticate(request({ type: "test.secret", secret: "open sesame", session: "no-such-session" })), { errcode: "M_UNKNOWN", status: 400 });
  });

  it("forgets a used-up session after the session lifetime", async () => {
    let now = 0;
    const uia = setup({ now: () => now });
    const flows = [{ stages: ["m.login.dummy"] }];
    const request = (auth?: JsonObject) => ({ endpoint: "POST /x", userId: "@a:hs", body: { ...(auth === undefined ? {} : { auth }) }, flows });
    const session = (await challenge(uia.authenticate(request()))).body["session"] as string;
    await uia.authenticate(request({ type: "m.login.dummy", session }));
    now = 999;
    await challenge(uia.authenticate(request({ type: "m.login.dummy", session })));
    now = 2001;
    await assert.rejects(uia.authenticate(request({ type: "m.login.dummy", session })), { errcode: "M_UNKNOWN", status: 400 });
  });

  it("binds a session to its endpoint, its user and its request body (auth aside)", async () => {
    const uia = setup();
    const flows = [{ stages: ["test.secret"] }];
    const session = (await challenge(uia.authenticate({ endpoint: "POST /x", userId: "@a:hs", body: { n: 1 }, flows }))).body["session"] as string;
    const auth = { type: "test.secret", secret: "open sesame", session };
    for (const other of [
      { endpoint: "POST /y", userId: "@a:hs", body: { n: 1, auth } },
      { endpoint: "POST /x", userId: "@b:hs", body: { n: 1, auth } },
      { endpoint: "POST /x", userId: undefined, body: { n: 1, auth } },
      { endpoint: "POST /x", userId: "@a:hs", body: { n: 2, auth } },
    ]) {
      await assert.rejects(uia.authenticate({ ...other, flows }), { errcode: "M_FORBIDDEN", status: 403 });
    }
    const done = await uia.authenticate({ endpoint: "POST /x", userId: "@a:hs", body: { n: 1, auth }, flows });
    assert.deepEqual(done.completed, ["test.secret"]);
    assert.equal(requestBodyHash({ b: 1, a: [1.5] }), requestBodyHash({ a: [1.5], b: 1, auth: { anything: true } }));
  });

  it("refuses malformed auth dicts", async () => {
    const uia = setup();
    const flows = [{ stages: ["m.login.dummy"] }];
    await assert.rejects(uia.authenticate({ endpoint: "e", userId: undefined, body: { auth: "x" }, flows }), { errcode: "M_BAD_JSON" });
    await assert.rejects(uia.authenticate({ endpoint: "e", userId: undefined, body: { auth: { session: 5 } }, flows }), { errcode: "M_BAD_JSON" });
    await assert.rejects(uia.authenticate({ endpoint: "e", userId: undefined, body: { auth: { type: 5 } }, flows }), { errcode: "M_BAD_JSON" });
  });

  it("drops idle sessions, telling onAbandoned, and keeps at most maxSessions", async () => {
    let now = 10_000;
    const abandoned: string[] = [];
    const uia = setup({ now: () => now, onAbandoned: (s) => abandoned.push(s.id), maxSessions: 2 });
    const flows = [{ stages: ["test.secret"] }];
    const open = async (n: number) => (await challenge(uia.authenticate({ endpoint: "e", userId: undefined, body: { n }, flows }))).body["session"] as string;
    const s1 = await open(1);
    const s2 = await open(2);
    const s3 = await open(3);
    assert.deepEqual(abandoned, [s1], "the oldest made room");
    now += 1001;
    await open(4);
    assert.deepEqual(abandoned.sort(), [s1, s2, s3].sort());
    await assert.rejects(uia.authenticate({ endpoint: "e", userId: undefined, body: { n: 2, auth: { session: s2 } }, flows }), { errcode: "M_UNKNOWN" });
  });

  it("lets only one of two concurrent attempts on a session complete it", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow: UiaStage = { type: "test.slow", check: async () => gate.then(() => undefined) };
    const uia = new UserInteractiveAuth([slow]);
    const flows = [{ stages: ["test.slow"] }];
    const session = (await challenge(uia.authenticate({ endpoint: "e", userId: "@a:hs", body: {}, flows }))).body["session"] as string;
    const attempt = () => uia.authenticate({ endpoint: "e", userId: "@a:hs", body: { auth: { type: "test.slow", session } }, flows });
    const results = Promise.allSettled([attempt(), attempt()]);
    release();
    const [a, b] = await results;
    assert.deepEqual([a.status, b.status].sort(), ["fulfilled", "rejected"]);
  });
});
