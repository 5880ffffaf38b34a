// The m.login.email.identity UIA stage (client-server-api#email-based-identity--homeserver): in
// registration, required by registrations_require_3pid or offered beside the dummy stage, and in the
// password reset of POST /account/password without an access token.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import { ACCOUNTS_YAML, assertError, call, login, registerUser } from "../api/client/helpers.ts";
import { mailedToken, startMailingHomeserver, threepidCreds, validatedEmail, type MailingHomeserver } from "./helpers.ts";

const REGISTER = "/_matrix/client/v3/register";
const PASSWORD = "/_matrix/client/v3/account/password";
const WHOAMI = "/_matrix/client/v3/account/whoami";
const EMAIL_STAGE = "m.login.email.identity";

for (const engine of engines) {
  describe(`registration with registrations_require_3pid: [email] [${engine}]`, () => {
    let m: MailingHomeserver;
    before(async () => {
      // No enable_registration_without_verification: the required email is the check open registration needs.
      m = await startMailingHomeserver(engine, {
        accountsYaml: ACCOUNTS_YAML.replace("enable_registration_without_verification: true", "enable_registration_without_verification: false"),
        yaml: [
          "registrations_require_3pid: [email]",
          "allowed_local_3pids: [{medium: email, pattern: '.*@example\\.org$'}]",
        ].join("\n"),
      });
    });
    after(() => m.stop());

    it("offers only the email flow, refuses an unvalidated session and registers with the validated address", async () => {
      const body = { username: "pia", password: "Pia-pass-1" };
      const first = await call(m.hs, "POST", REGISTER, { body });
      assert.equal(first.status, 401);
      assert.deepEqual(first.body["flows"], [{ stages: [EMAIL_STAGE] }]);
      const session = first.body["session"] as string;
      assertError(await call(m.hs, "POST", REGISTER, { body: { ...body, auth: { type: "m.login.dummy", session } } }), 401, "M_UNRECOGNIZED");

      const mailed = await mailedToken(m, "register", "pia@example.org");
      // Not validated yet: a 401 the client retries once the user opened the link.
      const early = await call(m.hs, "POST", REGISTER, { body: { ...body, auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(mailed), session } } });
      assertError(early, 401, "M_UNAUTHORIZED");
      assert.equal(early.body["session"], session);
      assertError(await call(m.hs, "POST", REGISTER, { body: { ...body, auth: { type: EMAIL_STAGE, session } } }), 401, "M_MISSING_PARAM");

      const link = await fetch(`${m.hs.baseUrl}${mailed.linkPath}`);
      assert.equal(link.status, 200);
      const done = await call(m.hs, "POST", REGISTER, { body: { ...body, auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(mailed), session } } });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const token = done.body["access_token"] as string;
      const listed = await call(m.hs, "GET", "/_matrix/client/v3/account/3pid", { token });
      assert.deepEqual((listed.body["threepids"] as Array<Record<string, unknown>>).map((t) => t["address"]), ["pia@example.org"]);
      // The address now logs in.
      const byEmail = await call(m.hs, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.thirdparty", medium: "email", address: "pia@example.org" }, password: "Pia-pass-1" },
      });
      assert.equal(byEmail.body["user_id"], done.body["user_id"]);
    });

    it("refuses a validated address another account took meanwhile, and a session of another client_secret", async () => {
      const validated = await validatedEmail(m, "register", "quinn@example.org");
      const r1 = await call(m.hs, "POST", REGISTER, { body: { username: "quinn1", password: "Quinn-pass-1" } });
      const wrongSecret = await call(m.hs, "POST", REGISTER, {
        body: { username: "quinn1", password: "Quinn-pass-1", auth: { type: EMAIL_STAGE, threepid_creds: { sid: validated.sid, client_secret: "other" }, session: r1.body["session"] } },
      });
      assertError(wrongSecret, 401, "M_UNAUTHORIZED");
      const ok = await call(m.hs, "POST", REGISTER, {
        body: { username: "quinn1", password: "Quinn-pass-1", auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(validated), session: r1.body["session"] } },
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      // A second account with the same validated session: the session is spent.
      const r2 = await call(m.hs, "POST", REGISTER, { body: { username: "quinn2", password: "Quinn-pass-1" } });
      const again = await call(m.hs, "POST", REGISTER, {
        body: { username: "quinn2", password: "Quinn-pass-1", auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(validated), session: r2.body["session"] } },
      });
      assertError(again, 401, "M_UNAUTHORIZED");
      assert.equal((await call(m.hs, "GET", "/_matrix/client/v3/register/available?username=quinn2")).status, 200, "no account was made");
    });
  });

  describe(`email offered but not required, and the password reset [${engine}]`, () => {
    let m: MailingHomeserver;
    before(async () => {
      m = await startMailingHomeserver(engine);
    });
    after(() => m.stop());

    it("offers the email flow beside the dummy one, and never an msisdn stage", async () => {
      const first = await call(m.hs, "POST", REGISTER, { body: {} });
      assert.deepEqual(first.body["flows"], [{ stages: [EMAIL_STAGE] }, { stages: ["m.login.dummy"] }]);
      assert.ok(!JSON.stringify(first.body).includes("msisdn"));
      const rita = await registerUser(m.hs, "rita");
      assert.deepEqual((await call(m.hs, "GET", "/_matrix/client/v3/account/3pid", { token: rita.accessToken })).body, { threepids: [] });
    });

    it("resets a password by a validated address, logging out every device unless logout_devices is false", async () => {
      const sam = await registerUser(m.hs, "sam");
      const added = await validatedEmail(m, "account/3pid", "sam@example.org");
      const add = await call(m.hs, "POST", "/_matrix/client/v3/account/3pid/add", { token: sam.accessToken, body: { sid: added.sid, client_secret: added.clientSecret } });
      const addDone = await call(m.hs, "POST", "/_matrix/client/v3/account/3pid/add", {
        token: sam.accessToken,
        body: { sid: added.sid, client_secret: added.clientSecret, auth: { type: "m.login.password", identifier: { type: "m.id.user", user: sam.userId }, password: sam.password, session: add.body["session"] } },
      });
      assert.equal(addDone.status, 200, JSON.stringify(addDone.body));
      const other = (await login(m.hs, "sam", sam.password)).body["access_token"] as string;

      const reset = await mailedToken(m, "account/password", "Sam@example.org");
      assert.match(reset.mail.subject, /Password reset/);
      const body = { new_password: "Sam-new-1" };
      const first = await call(m.hs, "POST", PASSWORD, { body });
      assert.equal(first.status, 401);
      assert.deepEqual(first.body["flows"], [{ stages: [EMAIL_STAGE] }]);
      const session = first.body["session"] as string;
      assertError(await call(m.hs, "POST", PASSWORD, { body: { ...body, auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(reset), session } } }), 401, "M_UNAUTHORIZED");
      assert.equal((await fetch(`${m.hs.baseUrl}${reset.linkPath}`)).status, 200);
      const done = await call(m.hs, "POST", PASSWORD, { body: { ...body, auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(reset), session } } });
      assert.deepEqual(done, { status: 200, body: {} });
      for (const token of [sam.accessToken, other]) assertError(await call(m.hs, "GET", WHOAMI, { token }), 401, "M_UNKNOWN_TOKEN");
      assertError(await login(m.hs, "sam", sam.password), 403, "M_FORBIDDEN");
      const relogged = await login(m.hs, "sam", "Sam-new-1");
      assert.equal(relogged.status, 200);

      // logout_devices: false keeps them.
      const kept = relogged.body["access_token"] as string;
      const again = await validatedEmail(m, "account/password", "sam@example.org");
      const body2 = { new_password: "Sam-new-2", logout_devices: false };
      const s2 = (await call(m.hs, "POST", PASSWORD, { body: body2 })).body["session"] as string;
      const done2 = await call(m.hs, "POST", PASSWORD, { body: { ...body2, auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(again), session: s2 } } });
      assert.equal(done2.status, 200, JSON.stringify(done2.body));
      assert.equal((await call(m.hs, "GET", WHOAMI, { token: kept })).status, 200);
      assert.equal((await login(m.hs, "sam", "Sam-new-2")).status, 200);
      // The session is spent once used.
      const s3 = (await call(m.hs, "POST", PASSWORD, { body: { new_password: "Sam-new-3" } })).body["session"] as string;
      const replay = await call(m.hs, "POST", PASSWORD, { body: { new_password: "Sam-new-3", auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(again), session: s3 } } });
      assertError(replay, 401, "M_UNAUTHORIZED");
    });

    it("finds no account for an address validated for registration", async () => {
      const free = await validatedEmail(m, "register", "tom@example.org");
      const s = (await call(m.hs, "POST", PASSWORD, { body: { new_password: "Tom-1" } })).body["session"] as string;
      const reply = await call(m.hs, "POST", PASSWORD, { body: { new_password: "Tom-1", auth: { type: EMAIL_STAGE, threepid_creds: threepidCreds(free), session: s } } });
      assertError(reply, 400, "M_THREEPID_NOT_FOUND");
    });
  });
}
