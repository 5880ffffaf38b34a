// The parts of the service best watched from inside: requestToken's rate limits and what a failed
// send leaves behind (validation.ts), and the /3pid/onbind queue's answers to a homeserver that
// refuses, fails or predates the PUT method (invites.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { generateSigningKey } from "../../src/core/crypto/ed25519.ts";
import { MatrixError } from "../../src/core/errors.ts";
import { FederationRequestError } from "../../src/homeserver/federation/client.ts";
import { parseIdentityServiceConfig } from "../../src/identity/config.ts";
import { OnbindDelivery } from "../../src/identity/invites.ts";
import { identityServiceMigrations } from "../../src/identity/migrations/index.ts";
import { IdentityStore } from "../../src/identity/store.ts";
import { Validation } from "../../src/identity/validation.ts";
import { openDatabase, type Database } from "../../src/storage/database.ts";

describe("identity service: sessions and the onbind queue", () => {
  let db: Database;
  let store: IdentityStore;
  before(async () => {
    db = await openDatabase({ engine: "sqlite", path: ":memory:" }, { migrations: identityServiceMigrations });
    store = new IdentityStore(db);
  });
  after(async () => {
    await db.close();
  });

  const config = (limits: Record<string, unknown>) =>
    parseIdentityServiceConfig({ server_name: "id.test", rc_request_token: limits }, "/tmp").config;

  it("limits requestToken per client address, and the sends per 3PID", async () => {
    const validation = new Validation({ store, config: config({ ip: { per_second: 0, burst_count: 3 }, threepid: { per_second: 0, burst_count: 1 } }), now: Date.now });
    let sent = 0;
    const send = async () => {
      sent++;
    };
    const ask = (address: string, secret: string, ip: string) => validation.requestToken("email", address, { clientSecret: secret, sendAttempt: 1, nextLink: undefined, ip }, send);
    await ask("a@example.org", "s1", "10.0.0.1");
    // Another session of the same address needs another send: refused.
    await assert.rejects(ask("a@example.org", "s2", "10.0.0.1"), (err: unknown) => err instanceof MatrixError && err.errcode === "M_LIMIT_EXCEEDED" && err.status === 429);
    await ask("b@example.org", "s1", "10.0.0.1");
    await assert.rejects(ask("c@example.org", "s1", "10.0.0.1"), (err: unknown) => err instanceof MatrixError && err.errcode === "M_LIMIT_EXCEEDED");
    await ask("c@example.org", "s1", "10.0.0.2");
    assert.equal(sent, 3);
  });

  it("sends again for the same send_attempt when the first send failed", async () => {
    const validation = new Validation({ store, config: config({}), now: Date.now });
    let fail = true;
    const sends: string[] = [];
    const send = async (session: { sid: string }) => {
      if (fail) throw new MatrixError("M_EMAIL_SEND_ERROR", "down", 400);
      sends.push(session.sid);
    };
    const ask = () => validation.requestToken("email", "retry@example.org", { clientSecret: "s", sendAttempt: 1, nextLink: undefined, ip: "10.0.0.9" }, send);
    await assert.rejects(ask(), (err: unknown) => err instanceof MatrixError && err.errcode === "M_EMAIL_SEND_ERROR");
    assert.equal(await store.sessionOf("email", "retry@example.org", "s"), undefined, "no session left of a send that failed");
    fail = false;
    const { sid } = await ask();
    assert.deepEqual(sends, [sid]);
    // Once more, a failed reminder leaves the attempt unseen.
    fail = true;
    await assert.rejects(validation.requestToken("email", "retry@example.org", { clientSecret: "s", sendAttempt: 2, nextLink: undefined, ip: "10.0.0.9" }, send));
    assert.equal((await store.sessionOf("email", "retry@example.org", "s"))?.send_attempt, 1);
  });

  it("drops a notification the homeserver refuses, retries one it fails, and falls back to POST", async () => {
    const key = generateSigningKey("0");
    const calls: string[] = [];
    const answers: Array<FederationRequestError | undefined> = [];
    const client = {
      request: async (method: string, destination: string) => {
        calls.push(`${method} ${destination}`);
        const answer = answers.shift();
        if (answer !== undefined) throw answer;
        return {};
      },
    };
    let now = 1_000_000;
    const delivery = new OnbindDelivery({ store, client, serverName: "id.test", signingKey: key, logger: pino({ level: "silent" }), now: () => now, pollIntervalMs: 60_000, firstRetryMs: 1000 });
    const queue = async (destination: string) => {
      const note = delivery.notification(`@u:${destination}`, "email", `u@${destination}`, [
        { token: `t-${destination}`, medium: "email", address: `u@${destination}`, room_id: "!r:x.test", sender: "@s:x.test", ephemeral_public_key: "k", created_ts: now, queued_ts: null },
      ]);
      assert.ok(note !== undefined);
      const body = JSON.parse(note.body) as { invites: Array<{ signed: { signatures: Record<string, unknown> } }> };
      assert.ok(body.invites[0]?.signed.signatures["id.test"] !== undefined);
      await store.bind({ medium: "email", address: `u@${destination}`, mxid: `@u:${destination}`, ts: now, not_before: now, not_after: now + 1 }, "h", () => note);
    };
    const settle = async () => {
      delivery.kick();
      await new Promise((resolve) => setTimeout(resolve, 50));
    };

    // Refused for good (400): dropped after one try.
    await store.addInvite({ token: "t-refuses.test", medium: "email", address: "u@refuses.test", room_id: "!r:x.test", sender: "@s:x.test", ephemeral_public_key: "k", created_ts: now, queued_ts: null });
    await queue("refuses.test");
    answers.push(new FederationRequestError("refuses.test", "http", "no", 400, "M_UNKNOWN"));
    await settle();
    assert.deepEqual(calls, ["PUT refuses.test"]);
    assert.deepEqual(await store.dueOnbinds(now + 10_000_000, 10), []);

    // Failing for now (502): kept, and tried again once due.
    await store.addInvite({ token: "t-fails.test", medium: "email", address: "u@fails.test", room_id: "!r:x.test", sender: "@s:x.test", ephemeral_public_key: "k", created_ts: now, queued_ts: null });
    await queue("fails.test");
    answers.push(new FederationRequestError("fails.test", "http", "busy", 502));
    await settle();
    const kept = await store.dueOnbinds(now + 1000, 10);
    assert.equal(kept.length, 1);
    assert.equal(kept[0]?.attempts, 1);
    assert.deepEqual(await store.dueOnbinds(now + 999, 10), [], "not due before the first retry's wait");
    // An older homeserver: PUT is 405, POST takes it.
    now += 1000;
    answers.push(new FederationRequestError("fails.test", "http", "method", 405, "M_UNRECOGNIZED"));
    await settle();
    assert.deepEqual(calls.slice(1), ["PUT fails.test", "PUT fails.test", "POST fails.test"]);
    assert.deepEqual(await store.dueOnbinds(now + 10_000_000, 10), []);
    await delivery.close();
  });
});

describe("identity service: old sessions", () => {
  it("forgets the sessions not changed since a time", async () => {
    const db = await openDatabase({ engine: "sqlite", path: ":memory:" }, { migrations: identityServiceMigrations });
    try {
      const store = new IdentityStore(db);
      const session = { medium: "email", address: "a@example.org", token: "t", send_attempt: 1, next_link: null, validated_ts: null };
      await store.createSession({ ...session, sid: "old", client_secret: "s1", modified_ts: 1000 });
      await store.createSession({ ...session, sid: "new", client_secret: "s2", modified_ts: 5000 });
      assert.equal(await store.deleteSessionsModifiedBefore(2000), 1);
      assert.equal(await store.sessionBySid("old"), undefined);
      assert.equal((await store.sessionBySid("new"))?.sid, "new");
    } finally {
      await db.close();
    }
  });
});
