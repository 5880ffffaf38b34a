// The homeserver validating email addresses itself and the account's 3PIDs
// (client-server-api#adding-account-administrative-contact-information), over real HTTP with the
// mail read from the SMTP stand-in.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { ACCOUNTS_YAML, assertError, call, login, registerUser, withPasswordUia } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { mailedToken, requestToken, startMailingHomeserver, submitToken, validatedEmail, type MailingHomeserver } from "./helpers.ts";

const THREEPIDS = "/_matrix/client/v3/account/3pid";
const ADD = "/_matrix/client/v3/account/3pid/add";
const DELETE = "/_matrix/client/v3/account/3pid/delete";

for (const engine of engines) {
  describe(`account 3PIDs validated by the homeserver [${engine}]`, () => {
    let m: MailingHomeserver;
    before(async () => {
      m = await startMailingHomeserver(engine, { yaml: "allowed_local_3pids: [{medium: email, pattern: '.*@(example\\.org|Example\\.net)$'}]" });
    });
    after(() => m.stop());

    it("mails a token, takes it at submit_url, adds the address behind UIA, lists it, logs in with it and deletes it", async () => {
      const alice = await registerUser(m.hs, "alice");
      const mailed = await mailedToken(m, "account/3pid", "Alice@Example.org");
      assert.deepEqual(mailed.mail.to, ["Alice@example.org"], "mailed as the user wrote it");
      assert.match(mailed.mail.subject, /WeftTest/);
      assert.match(mailed.mail.from, /noreply@test\.local/);
      // Not validated yet: the address cannot be added.
      const early = await withPasswordUia(m.hs, "POST", ADD, alice, { sid: mailed.sid, client_secret: mailed.clientSecret });
      assertError(early, 400, "M_THREEPID_AUTH_FAILED");

      assert.deepEqual(await submitToken(m.hs, mailed), { status: 200, body: { success: true } });
      const before = Date.now();
      const added = await withPasswordUia(m.hs, "POST", ADD, alice, { sid: mailed.sid, client_secret: mailed.clientSecret });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      assert.deepEqual(added.body, {});

      const listed = await call(m.hs, "GET", THREEPIDS, { token: alice.accessToken });
      assert.equal(listed.status, 200);
      const threepids = listed.body["threepids"] as Array<Record<string, unknown>>;
      assert.equal(threepids.length, 1);
      assert.equal(threepids[0]?.["medium"], "email");
      assert.equal(threepids[0]?.["address"], "alice@example.org", "case-folded");
      assert.ok((threepids[0]?.["validated_at"] as number) <= (threepids[0]?.["added_at"] as number));
      assert.ok((threepids[0]?.["added_at"] as number) >= before - 1000);

      // Login by the address, in any case, with the identifier and with the deprecated top-level fields.
      const byIdentifier = await call(m.hs, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.thirdparty", medium: "email", address: "ALICE@example.org" }, password: alice.password },
      });
      assert.equal(byIdentifier.status, 200, JSON.stringify(byIdentifier.body));
      assert.equal(byIdentifier.body["user_id"], alice.userId);
      const legacy = await call(m.hs, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", medium: "email", address: "alice@example.org", password: alice.password } });
      assert.equal(legacy.body["user_id"], alice.userId);
      const wrongPassword = await call(m.hs, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.thirdparty", medium: "email", address: "alice@example.org" }, password: "nope" },
      });
      assertError(wrongPassword, 403, "M_FORBIDDEN");
      const unknown = await call(m.hs, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.thirdparty", medium: "email", address: "nobody@example.org" }, password: alice.password },
      });
      assertError(unknown, 403, "M_FORBIDDEN");

      // The session is spent: it cannot add the address again (to another account either).
      const bob = await registerUser(m.hs, "bob");
      assertError(await withPasswordUia(m.hs, "POST", ADD, bob, { sid: mailed.sid, client_secret: mailed.clientSecret }), 400, "M_THREEPID_AUTH_FAILED");

      // Never bound at an identity server: nothing to unbind from, so "no-support" (administrative_contact.yaml).
      const deleted = await call(m.hs, "POST", DELETE, { token: alice.accessToken, body: { medium: "email", address: "Alice@example.org" } });
      assert.deepEqual(deleted, { status: 200, body: { id_server_unbind_result: "no-support" } });
      assert.deepEqual((await call(m.hs, "GET", THREEPIDS, { token: alice.accessToken })).body, { threepids: [] });
      assertError(await call(m.hs, "POST", DELETE, { token: alice.accessToken, body: { medium: "fax", address: "x" } }), 400, "M_BAD_JSON");
    });

    it("validates through the link in the mail: a page, or a redirect to an http(s) next_link", async () => {
      const page = await mailedToken(m, "account/3pid", "carol@example.org");
      const res = await fetch(`${m.hs.baseUrl}${page.linkPath}`, { redirect: "manual" });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(await res.text(), /validated/);
      // Submitting again is harmless.
      assert.deepEqual(await submitToken(m.hs, page), { status: 200, body: { success: true } });

      const redirected = await mailedToken(m, "account/3pid", "dave@example.org", { next_link: "https://app.example.org/done?x=1" });
      const hop = await fetch(`${m.hs.baseUrl}${redirected.linkPath}`, { redirect: "manual" });
      assert.equal(hop.status, 302);
      assert.equal(hop.headers.get("location"), "https://app.example.org/done?x=1");

      const badLink = await fetch(`${m.hs.baseUrl}${redirected.submitPath}?sid=${redirected.sid}&client_secret=${redirected.clientSecret}&token=wrong`, { redirect: "manual" });
      assert.equal(badLink.status, 400);
      assert.match(await badLink.text(), /could not be validated/);
      const incomplete = await fetch(`${m.hs.baseUrl}${redirected.submitPath}?sid=${redirected.sid}`);
      assert.equal(incomplete.status, 400);

      const javascript = await requestToken(m.hs, "account/3pid", { client_secret: "abc", email: "erin@example.org", send_attempt: 1, next_link: "javascript:alert(1)" });
      assertError(javascript, 400, "M_INVALID_PARAM");
    });

    it("mails once per send_attempt, keeping the sid; a higher attempt mails a new token", async () => {
      const first = await mailedToken(m, "account/3pid", "frank@example.org");
      const again = await requestToken(m.hs, "account/3pid", { client_secret: first.clientSecret, email: "frank@example.org", send_attempt: 1 });
      assert.equal(again.status, 200);
      assert.equal(again.body["sid"], first.sid);
      const count = m.smtp.received.filter((mail) => mail.to.includes("frank@example.org")).length;
      const third = await requestToken(m.hs, "account/3pid", { client_secret: first.clientSecret, email: "frank@example.org", send_attempt: 2 });
      assert.equal(third.body["sid"], first.sid);
      const mail = await m.smtp.next("frank@example.org");
      assert.equal(m.smtp.received.filter((x) => x.to.includes("frank@example.org")).length, count + 1, "the repeated attempt sent nothing");
      const newToken = /code in your client: (\S+)/.exec(mail.text)?.[1];
      assert.ok(newToken !== undefined && newToken !== first.token);
      assertError(await submitToken(m.hs, first), 400, "M_TOKEN_INCORRECT");
      assert.equal((await submitToken(m.hs, first, { token: newToken })).status, 200);
      // Another client_secret is another session.
      const other = await requestToken(m.hs, "account/3pid", { client_secret: "other-secret", email: "frank@example.org", send_attempt: 1 });
      assert.notEqual(other.body["sid"], first.sid);
    });

    it("answers the spec's errors", async () => {
      const gina = await registerUser(m.hs, "gina");
      const taken = await validatedEmail(m, "account/3pid", "gina@example.org");
      assert.equal((await withPasswordUia(m.hs, "POST", ADD, gina, { sid: taken.sid, client_secret: taken.clientSecret })).status, 200);

      // An address an account has: M_THREEPID_IN_USE to register or add, fine for a password reset.
      assertError(await requestToken(m.hs, "register", { client_secret: "s1", email: "GINA@example.org", send_attempt: 1 }), 400, "M_THREEPID_IN_USE");
      assertError(await requestToken(m.hs, "account/3pid", { client_secret: "s1", email: "gina@example.org", send_attempt: 1 }), 400, "M_THREEPID_IN_USE");
      assert.equal((await requestToken(m.hs, "account/password", { client_secret: "s1", email: "gina@example.org", send_attempt: 1 })).status, 200);
      await m.smtp.next("gina@example.org");
      // An unknown address: M_THREEPID_NOT_FOUND for a password reset (password_management.yaml).
      assertError(await requestToken(m.hs, "account/password", { client_secret: "s1", email: "nobody@example.org", send_attempt: 1 }), 400, "M_THREEPID_NOT_FOUND");
      // allowed_local_3pids: 403 M_THREEPID_DENIED.
      assertError(await requestToken(m.hs, "register", { client_secret: "s1", email: "henry@elsewhere.org", send_attempt: 1 }), 403, "M_THREEPID_DENIED");
      // Bad parameters.
      assertError(await requestToken(m.hs, "register", { client_secret: "s1", email: "not an address", send_attempt: 1 }), 400, "M_INVALID_PARAM");
      assertError(await requestToken(m.hs, "register", { client_secret: "bad secret!", email: "ivy@example.org", send_attempt: 1 }), 400, "M_INVALID_PARAM");
      assertError(await requestToken(m.hs, "register", { client_secret: "x".repeat(256), email: "ivy@example.org", send_attempt: 1 }), 400, "M_INVALID_PARAM");
      assertError(await requestToken(m.hs, "register", { client_secret: "s1", email: "ivy@example.org" }), 400, "M_MISSING_PARAM");
      // Phone numbers: no SMS is sent here.
      for (const path of ["register", "account/password", "account/3pid"]) {
        const msisdn = await call(m.hs, "POST", `/_matrix/client/v3/${path}/msisdn/requestToken`, { body: { client_secret: "s1", country: "GB", phone_number: "07700900001", send_attempt: 1 } });
        assertError(msisdn, 400, "M_THREEPID_MEDIUM_NOT_SUPPORTED");
      }

      // Submitting: wrong token, wrong client_secret, unknown session.
      const mailed = await mailedToken(m, "account/3pid", "jack@example.org");
      assertError(await submitToken(m.hs, mailed, { token: "wrong" }), 400, "M_TOKEN_INCORRECT");
      assertError(await submitToken(m.hs, mailed, { client_secret: "another" }), 400, "M_INVALID_PARAM");
      assertError(await submitToken(m.hs, mailed, { sid: "nosuchsession" }), 400, "M_INVALID_PARAM");
      assertError(await call(m.hs, "POST", mailed.submitPath, { body: { sid: mailed.sid } }), 400, "M_MISSING_PARAM");
      // Adding with the wrong client_secret, even once validated.
      assert.equal((await submitToken(m.hs, mailed)).status, 200);
      const jack = await registerUser(m.hs, "jack");
      assertError(await withPasswordUia(m.hs, "POST", ADD, jack, { sid: mailed.sid, client_secret: "another" }), 400, "M_THREEPID_AUTH_FAILED");
      // Guests and requests without a token.
      assertError(await call(m.hs, "POST", ADD, { body: { sid: mailed.sid, client_secret: mailed.clientSecret } }), 401, "M_MISSING_TOKEN");
    });

    it("lists and sets 3PIDs in the admin API", async () => {
      const admin = await registerUser(m.hs, "boss");
      await m.hs.server.services.users.setAdmin(admin.userId, true);
      const kim = await registerUser(m.hs, "kim");
      const path = `/_synapse/admin/v2/users/${encodeURIComponent(kim.userId)}`;
      const set = await call(m.hs, "PUT", path, { token: admin.accessToken, body: { threepids: [{ medium: "email", address: "Kim@Example.org" }] } });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const listed = set.body["threepids"] as Array<Record<string, unknown>>;
      assert.deepEqual(listed.map((t) => [t["medium"], t["address"]]), [["email", "kim@example.org"]]);
      assert.deepEqual((await call(m.hs, "GET", THREEPIDS, { token: kim.accessToken })).body["threepids"], listed);
      // Another account's address is refused, and changes nothing.
      const lee = await registerUser(m.hs, "lee");
      const conflict = await call(m.hs, "PUT", `/_synapse/admin/v2/users/${encodeURIComponent(lee.userId)}`, { token: admin.accessToken, body: { threepids: [{ medium: "email", address: "kim@example.org" }] } });
      assertError(conflict, 400, "M_THREEPID_IN_USE");
      assertError(await call(m.hs, "PUT", path, { token: admin.accessToken, body: { threepids: [{ medium: "email", address: "nope" }] } }), 400, "M_INVALID_PARAM");
      const cleared = await call(m.hs, "PUT", path, { token: admin.accessToken, body: { threepids: [] } });
      assert.deepEqual(cleared.body["threepids"], []);
      assert.deepEqual((await call(m.hs, "GET", path, { token: admin.accessToken })).body["threepids"], []);
      assert.equal((await login(m.hs, "kim", kim.password)).status, 200);
    });
  });

  describe(`validation sessions expire [${engine}]`, () => {
    let m: MailingHomeserver;
    before(async () => {
      m = await startMailingHomeserver(engine, { emailKeys: ["validation_token_lifetime: 400"] });
    });
    after(() => m.stop());

    it("refuses a token after validation_token_lifetime with M_SESSION_EXPIRED, and a validated session after it", async () => {
      const late = await mailedToken(m, "account/3pid", "late@example.org");
      const validated = await validatedEmail(m, "account/3pid", "early@example.org");
      await new Promise((resolve) => setTimeout(resolve, 500));
      assertError(await submitToken(m.hs, late), 400, "M_SESSION_EXPIRED");
      const user = await registerUser(m.hs, "mia");
      assertError(await withPasswordUia(m.hs, "POST", ADD, user, { sid: validated.sid, client_secret: validated.clientSecret }), 400, "M_THREEPID_AUTH_FAILED");
      // A new request after expiry starts a new session.
      const fresh = await requestToken(m.hs, "account/3pid", { client_secret: late.clientSecret, email: "late@example.org", send_attempt: 1 });
      assert.notEqual(fresh.body["sid"], late.sid);
    });
  });

  describe(`enable_3pid_changes: false [${engine}]`, () => {
    let m: MailingHomeserver;
    before(async () => {
      m = await startMailingHomeserver(engine, { yaml: "enable_3pid_changes: false" });
    });
    after(() => m.stop());

    it("refuses adding, deleting and validating new addresses, and says so in the capabilities", async () => {
      const nora = await registerUser(m.hs, "nora");
      const caps = await call(m.hs, "GET", "/_matrix/client/v3/capabilities", { token: nora.accessToken });
      assert.deepEqual((caps.body["capabilities"] as Record<string, unknown>)["m.3pid_changes"], { enabled: false });
      assertError(await requestToken(m.hs, "account/3pid", { client_secret: "s", email: "nora@example.org", send_attempt: 1 }), 400, "M_FORBIDDEN");
      assertError(await call(m.hs, "POST", ADD, { token: nora.accessToken, body: { sid: "x", client_secret: "y" } }), 400, "M_FORBIDDEN");
      assertError(await call(m.hs, "POST", DELETE, { token: nora.accessToken, body: { medium: "email", address: "nora@example.org" } }), 400, "M_FORBIDDEN");
      // Registration and password resets still validate addresses.
      assert.equal((await requestToken(m.hs, "register", { client_secret: "s", email: "nora@example.org", send_attempt: 1 })).status, 200);
    });
  });

  describe(`registration off [${engine}]`, () => {
    let m: MailingHomeserver;
    before(async () => {
      m = await startMailingHomeserver(engine, { accountsYaml: ACCOUNTS_YAML.replace("enable_registration: true", "enable_registration: false") });
    });
    after(() => m.stop());

    it("mails no token for registration, and still for the other purposes", async () => {
      assertError(await requestToken(m.hs, "register", { client_secret: "s", email: "pat@example.org", send_attempt: 1 }), 403, "M_FORBIDDEN");
      assert.equal((await requestToken(m.hs, "account/3pid", { client_secret: "s", email: "pat@example.org", send_attempt: 1 })).status, 200);
      assert.equal((await m.smtp.next("pat@example.org")).to[0], "pat@example.org");
    });
  });

  describe(`without an email section [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    it("validates no address, offers no email stage and resets no password without a token", async () => {
      for (const path of ["register", "account/password", "account/3pid"]) {
        assertError(await requestToken(hs, path as "register", { client_secret: "s", email: "olga@example.org", send_attempt: 1 }), 400, "M_THREEPID_MEDIUM_NOT_SUPPORTED");
      }
      const flows = await call(hs, "POST", "/_matrix/client/v3/register", { body: {} });
      assert.deepEqual(flows.body["flows"], [{ stages: ["m.login.dummy"] }]);
      assertError(await call(hs, "POST", "/_matrix/client/v3/account/password", { body: { new_password: "x" } }), 401, "M_MISSING_TOKEN");
      const caps = await call(hs, "GET", "/_matrix/client/v3/capabilities", { token: (await registerUser(hs, "olga")).accessToken });
      assert.deepEqual((caps.body["capabilities"] as Record<string, unknown>)["m.3pid_changes"], { enabled: true });
    });
  });
}
