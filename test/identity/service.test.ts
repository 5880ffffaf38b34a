// The identity service over real HTTP, on SQLite and on PostgreSQL (identity-service-api v2):
// authentication with an OpenID token of a real Weft homeserver, terms, email and SMS validation,
// binding, lookup and both ways of unbinding, invitations down to their /3pid/onbind delivery, the
// keys, every error path, and what survives a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeBase64 } from "../../src/core/crypto/base64.ts";
import { verifyJsonSignature } from "../../src/core/crypto/signing.ts";
import type { JsonObject } from "../../src/core/json.ts";
import { signRequest } from "../../src/homeserver/federation/request-auth.ts";
import { generateSigningKey } from "../../src/core/crypto/ed25519.ts";
import { lookupHash } from "../../src/core/identifiers/threepid.ts";
import { MAX_WRONG_TOKENS } from "../../src/identity/validation.ts";
import { engines } from "../storage/engines.ts";
import { ALL_POLICY_URLS, clientSecret, eventually, IS_NAME, POLICIES, startStack, tokenOfMail, type Json, type Stack } from "./harness.ts";

function publicKey(base64: unknown): Uint8Array {
  assert.equal(typeof base64, "string");
  const bytes = decodeBase64(base64 as string);
  assert.ok(bytes !== undefined && bytes.length === 32);
  return bytes;
}

for (const engine of engines) {
  describe(`identity service over HTTP [${engine}]`, () => {
    let stack: Stack;
    let serviceKey: Uint8Array;

    before(async () => {
      stack = await startStack(engine);
      const reply = await stack.call("GET", "/pubkey/ed25519:0");
      assert.equal(reply.status, 200, reply.text);
      serviceKey = publicKey(reply.json["public_key"]);
    });
    after(async () => {
      await stack?.stop();
    });

    const errcode = async (reply: Promise<{ status: number; json: Json; text: string }>, status: number, code: string): Promise<Json> => {
      const r = await reply;
      assert.equal(r.status, status, r.text);
      assert.equal(r.json["errcode"], code, r.text);
      assert.equal(typeof r.json["error"], "string");
      return r.json;
    };

    it("answers /versions, the status check, /health and CORS pre-flights", async () => {
      const versions = await stack.call("GET", "/_matrix/identity/versions");
      assert.equal(versions.status, 200);
      assert.ok((versions.json["versions"] as string[]).includes("v1.19"));
      const status = await stack.call("GET", "/_matrix/identity/v2");
      assert.deepEqual([status.status, status.json], [200, {}]);
      assert.match(String(status.headers["content-type"]), /application\/json/);
      assert.equal((await stack.call("GET", "/health")).status, 200);
      const preflight = await stack.call("OPTIONS", "/lookup");
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers["access-control-allow-origin"], "*");
      assert.match(String(preflight.headers["access-control-allow-headers"]), /Authorization/);
      await errcode(stack.call("GET", "/no/such/endpoint"), 404, "M_UNRECOGNIZED");
      await errcode(stack.call("PUT", "/lookup", { body: {} }), 405, "M_UNRECOGNIZED");
    });

    it("exchanges a homeserver's OpenID token for an access token, and logs it out", async () => {
      const alice = await stack.homeserverUser("alice");
      const account = await stack.call("GET", "/account", { token: alice.token });
      assert.deepEqual([account.status, account.json], [200, { user_id: alice.userId }]);
      // identity-service-api#authentication: the deprecated query parameter works too.
      const byQuery = await stack.call("GET", `/account?access_token=${encodeURIComponent(alice.token)}`);
      assert.deepEqual(byQuery.json, { user_id: alice.userId });
      assert.deepEqual((await stack.call("POST", "/account/logout", { token: alice.token })).json, {});
      await errcode(stack.call("GET", "/account", { token: alice.token }), 401, "M_UNAUTHORIZED");
      await errcode(stack.call("POST", "/account/logout", { token: alice.token }), 401, "M_UNAUTHORIZED");
    });

    it("refuses OpenID tokens the homeserver does not vouch for, and requests without a token", async () => {
      const { hs, remote } = stack;
      await errcode(stack.call("POST", "/account/register", { body: { access_token: "nope", token_type: "Bearer", matrix_server_name: hs.serverName, expires_in: 3600 } }), 401, "M_UNAUTHORIZED");
      // The stand-in homeserver answers with a user of another server: not its to vouch for.
      remote.openidTokens.set("liar", `@mallory:${hs.serverName}`);
      await errcode(stack.call("POST", "/account/register", { body: { access_token: "liar", token_type: "Bearer", matrix_server_name: remote.serverName, expires_in: 3600 } }), 401, "M_UNAUTHORIZED");
      await errcode(stack.call("POST", "/account/register", { body: { access_token: "x", token_type: "Bearer", expires_in: 3600 } }), 400, "M_MISSING_PARAMS");
      await errcode(stack.call("POST", "/account/register", { body: { access_token: "x", token_type: "Bearer", matrix_server_name: "not a server!", expires_in: 3600 } }), 400, "M_INVALID_PARAM");
      await errcode(stack.call("POST", "/account/register", { body: { access_token: "x", token_type: "Bearer", matrix_server_name: "a.b", expires_in: "soon" } }), 400, "M_INVALID_PARAM");
      await errcode(stack.call("POST", "/account/register", { rawBody: "{not json", headers: { "content-type": "application/json" } }), 400, "M_NOT_JSON");
      await errcode(stack.call("POST", "/account/register", { rawBody: "[1, 2]", headers: { "content-type": "application/json" } }), 400, "M_BAD_JSON");
      // The address ranges the service may not reach stay closed whatever a request names.
      await errcode(stack.call("POST", "/account/register", { body: { access_token: "x", token_type: "Bearer", matrix_server_name: "10.1.2.3:8448", expires_in: 3600 } }), 502, "M_UNKNOWN");
      await errcode(stack.call("GET", "/account"), 401, "M_UNAUTHORIZED");
      await errcode(stack.call("GET", "/account", { token: "made-up" }), 401, "M_UNAUTHORIZED");
      await errcode(stack.call("GET", "/hash_details", { headers: { authorization: "Basic abc" } }), 401, "M_UNAUTHORIZED");
      // Credentials are checked before the body is read.
      await errcode(stack.call("POST", "/lookup", { rawBody: "{not json" }), 401, "M_UNAUTHORIZED");
    });

    it("offers its terms and gates every authenticated endpoint until they are all accepted", async () => {
      const terms = await stack.call("GET", "/terms");
      assert.equal(terms.status, 200);
      assert.deepEqual(terms.json, { policies: POLICIES });
      const bob = await stack.homeserverUser("bob", { acceptTerms: false });
      await errcode(stack.call("GET", "/account", { token: bob.token }), 403, "M_TERMS_NOT_SIGNED");
      await errcode(stack.call("GET", "/hash_details", { token: bob.token }), 403, "M_TERMS_NOT_SIGNED");
      await errcode(stack.call("POST", "/validate/email/requestToken", { token: bob.token, body: { client_secret: "s", email: "bob@example.org", send_attempt: 1 } }), 403, "M_TERMS_NOT_SIGNED");
      await errcode(stack.call("POST", "/terms", { token: bob.token, body: {} }), 400, "M_MISSING_PARAMS");
      // One policy of two, and a URL the server never offered: still not signed.
      assert.equal((await stack.call("POST", "/terms", { token: bob.token, body: { user_accepts: [POLICIES.privacy_policy.en.url, "https://elsewhere.test/t"] } })).status, 200);
      await errcode(stack.call("GET", "/account", { token: bob.token }), 403, "M_TERMS_NOT_SIGNED");
      // Another language's URL of the other policy accepts it too.
      assert.equal((await stack.call("POST", "/terms", { token: bob.token, body: { user_accepts: [POLICIES.terms_of_service.fr.url] } })).status, 200);
      assert.deepEqual((await stack.call("GET", "/account", { token: bob.token })).json, { user_id: bob.userId });
      await errcode(stack.call("POST", "/terms", { body: { user_accepts: ALL_POLICY_URLS } }), 401, "M_UNAUTHORIZED");
    });

    it("validates an email address end to end, sending once per send_attempt", async () => {
      const carl = await stack.homeserverUser("carl");
      const secret = clientSecret();
      const request = (sendAttempt: number | string, extra: Json = {}) =>
        stack.call("POST", "/validate/email/requestToken", { token: carl.token, body: { client_secret: secret, email: "Carl@Example.ORG", send_attempt: sendAttempt, ...extra } });
      const first = await request(1);
      assert.equal(first.status, 200, first.text);
      const sid = first.json["sid"] as string;
      assert.match(sid, /^[0-9a-zA-Z.=_-]{1,255}$/);
      const mail = await stack.smtp.next("carl@example.org");
      assert.equal(mail.from, "noreply@id.test");
      const token = tokenOfMail(mail.text);
      assert.ok(mail.text.includes(`https://id.test/_matrix/identity/v2/validate/email/submitToken?token=${token}&client_secret=${secret}&sid=${sid}`), mail.text);

      const mailsBefore = stack.smtp.received.length;
      assert.deepEqual((await request(1)).json, { sid }, "the same attempt: the same session, no mail");
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(stack.smtp.received.length, mailsBefore);
      assert.deepEqual((await request("1")).json, { sid }, "send_attempt as matrix-js-sdk sends it, a string of digits: the same attempt");
      assert.equal(stack.smtp.received.length, mailsBefore);
      assert.deepEqual((await request(2)).json, { sid });
      assert.equal(tokenOfMail((await stack.smtp.next("carl@example.org")).text), token, "a reminder carries the same token");
      await errcode(request("two"), 400, "M_INVALID_PARAM");

      await errcode(stack.call("GET", `/3pid/getValidated3pid?sid=${sid}&client_secret=${secret}`, { token: carl.token }), 400, "M_SESSION_NOT_VALIDATED");
      await errcode(stack.call("POST", "/validate/email/submitToken", { token: carl.token, body: { sid, client_secret: secret, token: "wrong" } }), 400, "M_TOKEN_INCORRECT");
      await errcode(stack.call("POST", "/validate/email/submitToken", { token: carl.token, body: { sid, client_secret: "other", token } }), 404, "M_NO_VALID_SESSION");
      await errcode(stack.call("POST", "/validate/msisdn/submitToken", { token: carl.token, body: { sid, client_secret: secret, token } }), 404, "M_NO_VALID_SESSION");
      await errcode(stack.call("POST", "/validate/email/submitToken", { body: { sid, client_secret: secret, token } }), 401, "M_UNAUTHORIZED");
      const submitted = await stack.call("POST", "/validate/email/submitToken", { token: carl.token, body: { sid, client_secret: secret, token } });
      assert.deepEqual([submitted.status, submitted.json], [200, { success: true }]);
      const validated = await stack.call("GET", `/3pid/getValidated3pid?sid=${sid}&client_secret=${secret}`, { token: carl.token });
      assert.equal(validated.status, 200, validated.text);
      assert.equal(validated.json["medium"], "email");
      assert.equal(validated.json["address"], "carl@example.org");
      assert.ok(Math.abs((validated.json["validated_at"] as number) - Date.now()) < 60_000);
      await errcode(stack.call("GET", `/3pid/getValidated3pid?sid=${sid}`, { token: carl.token }), 400, "M_MISSING_PARAMS");
      await errcode(stack.call("GET", `/3pid/getValidated3pid?sid=nope&client_secret=${secret}`, { token: carl.token }), 404, "M_NO_VALID_SESSION");
    });

    it("validates from the mail's link in a browser, redirecting to next_link", async () => {
      const dana = await stack.homeserverUser("dana");
      const secret = clientSecret();
      const requested = await stack.call("POST", "/validate/email/requestToken", {
        token: dana.token,
        body: { client_secret: secret, email: "dana@example.org", send_attempt: 1, next_link: "https://chat.test/welcome" },
      });
      assert.equal(requested.status, 200, requested.text);
      const link = /(https:\/\/id\.test\S+)/.exec((await stack.smtp.next("dana@example.org")).text)?.[1];
      assert.ok(link !== undefined);
      const path = link.slice("https://id.test".length);
      const wrong = await stack.call("GET", path.replace(/token=[^&]+/, "token=wrong"));
      assert.equal(wrong.status, 400);
      assert.match(String(wrong.headers["content-type"]), /text\/html/);
      const opened = await stack.call("GET", path);
      assert.equal(opened.status, 302, opened.text);
      assert.equal(opened.headers["location"], "https://chat.test/welcome");
      const sid = requested.json["sid"] as string;
      assert.equal((await stack.call("GET", `/3pid/getValidated3pid?sid=${sid}&client_secret=${secret}`, { token: dana.token })).status, 200);

      // Without next_link, a page says it is done.
      const secret2 = clientSecret();
      await stack.call("POST", "/validate/email/requestToken", { token: dana.token, body: { client_secret: secret2, email: "dana2@example.org", send_attempt: 1 } });
      const link2 = /(https:\/\/id\.test\S+)/.exec((await stack.smtp.next("dana2@example.org")).text)?.[1] as string;
      const page = await stack.call("GET", link2.slice("https://id.test".length));
      assert.equal(page.status, 200);
      assert.match(page.text, /confirmed/);
    });

    it("refuses bad validation requests with the spec's codes", async () => {
      const erin = await stack.homeserverUser("erin");
      const post = (path: string, body: unknown) => stack.call("POST", path, { token: erin.token, body });
      await errcode(post("/validate/email/requestToken", { client_secret: "s", email: "not an address", send_attempt: 1 }), 400, "M_INVALID_EMAIL");
      await errcode(post("/validate/email/requestToken", { client_secret: "bad secret!", email: "erin@example.org", send_attempt: 1 }), 400, "M_INVALID_PARAM");
      await errcode(post("/validate/email/requestToken", { client_secret: "s", email: "erin@example.org" }), 400, "M_MISSING_PARAMS");
      await errcode(post("/validate/email/requestToken", { client_secret: "s", email: "erin@example.org", send_attempt: "one" }), 400, "M_INVALID_PARAM");
      await errcode(post("/validate/email/requestToken", { client_secret: "s", email: "erin@example.org", send_attempt: 1, next_link: "javascript:alert(1)" }), 400, "M_INVALID_PARAM");
      await errcode(post("/validate/email/submitToken", { sid: "x", client_secret: "s" }), 400, "M_MISSING_PARAMS");
      await errcode(post("/validate/msisdn/requestToken", { client_secret: "s", country: "GB", phone_number: "12", send_attempt: 1 }), 400, "M_INVALID_ADDRESS");
      await errcode(post("/validate/msisdn/requestToken", { client_secret: "s", country: "Narnia", phone_number: "07700900001", send_attempt: 1 }), 400, "M_INVALID_ADDRESS");
      await errcode(post("/validate/msisdn/requestToken", { client_secret: "s", phone_number: "07700900001", send_attempt: 1 }), 400, "M_MISSING_PARAMS");
      stack.twilio.refused.add("+33612345678");
      await errcode(post("/validate/msisdn/requestToken", { client_secret: clientSecret(), country: "FR", phone_number: "0612345678", send_attempt: 1 }), 400, "M_DESTINATION_REJECTED");
    });

    it("takes the deprecated form-encoded bodies", async () => {
      const fred = await stack.homeserverUser("fred");
      const secret = clientSecret();
      const reply = await stack.call("POST", "/validate/email/requestToken", {
        token: fred.token,
        rawBody: new URLSearchParams({ client_secret: secret, email: "fred@example.org", send_attempt: "1" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      assert.equal(reply.status, 200, reply.text);
      assert.ok(tokenOfMail((await stack.smtp.next("fred@example.org")).text).length > 0);
    });

    it("expires sessions 24 hours after their last change", async () => {
      const gina = await stack.homeserverUser("gina");
      const { sid, clientSecret: secret } = await stack.validateEmail(gina.token, "gina@example.org");
      const pending = clientSecret();
      const requested = await stack.call("POST", "/validate/email/requestToken", { token: gina.token, body: { client_secret: pending, email: "gina2@example.org", send_attempt: 1 } });
      const token = tokenOfMail((await stack.smtp.next("gina2@example.org")).text);
      stack.clockOffsetMs = 24 * 3600 * 1000 + 60_000;
      try {
        await errcode(stack.call("GET", `/3pid/getValidated3pid?sid=${sid}&client_secret=${secret}`, { token: gina.token }), 400, "M_SESSION_EXPIRED");
        await errcode(stack.call("POST", "/3pid/bind", { token: gina.token, body: { sid, client_secret: secret, mxid: gina.userId } }), 400, "M_SESSION_EXPIRED");
        await errcode(stack.call("POST", "/validate/email/submitToken", { token: gina.token, body: { sid: requested.json["sid"], client_secret: pending, token } }), 400, "M_SESSION_EXPIRED");
        // A new request makes a new session, with a new token.
        const again = await stack.call("POST", "/validate/email/requestToken", { token: gina.token, body: { client_secret: pending, email: "gina2@example.org", send_attempt: 1 } });
        assert.equal(again.status, 200);
        assert.notEqual(again.json["sid"], requested.json["sid"]);
        assert.notEqual(tokenOfMail((await stack.smtp.next("gina2@example.org")).text), token);
      } finally {
        stack.clockOffsetMs = 0;
      }
    });

    it("ends a session after MAX_WRONG_TOKENS wrong codes, so that a six-digit code cannot be guessed", async () => {
      const ines = await stack.homeserverUser("ines");
      const secret = clientSecret();
      const reply = await stack.call("POST", "/validate/msisdn/requestToken", { token: ines.token, body: { client_secret: secret, country: "GB", phone_number: "07700 900002", send_attempt: 1 } });
      assert.equal(reply.status, 200, reply.text);
      const code = /(\d{6})$/.exec(stack.twilio.messages.at(-1)?.body ?? "")?.[1] as string;
      const sid = reply.json["sid"] as string;
      const submit = (token: string) => stack.call("POST", "/validate/msisdn/submitToken", { token: ines.token, body: { sid, client_secret: secret, token } });
      const wrong = code === "000000" ? "000001" : "000000";
      for (let i = 0; i < MAX_WRONG_TOKENS; i++) await errcode(submit(wrong), 400, "M_TOKEN_INCORRECT");
      await errcode(submit(code), 404, "M_NO_VALID_SESSION");
    });

    it("validates a phone number by SMS through Twilio's API, and binds it", async () => {
      const hana = await stack.homeserverUser("hana");
      const secret = clientSecret();
      const reply = await stack.call("POST", "/validate/msisdn/requestToken", { token: hana.token, body: { client_secret: secret, country: "GB", phone_number: "07700 900001", send_attempt: 1 } });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json["msisdn"], "447700900001");
      const sms = stack.twilio.messages.at(-1);
      assert.ok(sms !== undefined);
      assert.equal(sms.path, "/2010-04-01/Accounts/ACtest/Messages.json");
      assert.equal(sms.authorization, `Basic ${Buffer.from("ACtest:twilio-secret").toString("base64")}`);
      assert.equal(sms.to, "+447700900001");
      assert.equal(sms.from, "+15005550006");
      const code = /(\d{6})$/.exec(sms.body)?.[1];
      assert.ok(code !== undefined, sms.body);
      const count = stack.twilio.messages.length;
      await stack.call("POST", "/validate/msisdn/requestToken", { token: hana.token, body: { client_secret: secret, country: "GB", phone_number: "07700900001", send_attempt: 1 } });
      assert.equal(stack.twilio.messages.length, count, "no second SMS for the same attempt");
      const sid = reply.json["sid"] as string;
      assert.deepEqual((await stack.call("POST", "/validate/msisdn/submitToken", { token: hana.token, body: { sid, client_secret: secret, token: code } })).json, { success: true });
      const bound = await stack.call("POST", "/3pid/bind", { token: hana.token, body: { sid, client_secret: secret, mxid: hana.userId } });
      assert.equal(bound.status, 200, bound.text);
      assert.equal(bound.json["medium"], "msisdn");
      assert.equal(bound.json["address"], "447700900001");
      const pepper = (await stack.call("GET", "/hash_details", { token: hana.token })).json["lookup_pepper"] as string;
      const hash = lookupHash("447700900001", "msisdn", pepper);
      assert.deepEqual((await stack.call("POST", "/lookup", { token: hana.token, body: { algorithm: "sha256", pepper, addresses: [hash] } })).json, { mappings: { [hash]: hana.userId } });
    });

    it("binds a validated email, signed, and looks it up by sha256 and in clear", async () => {
      const ivan = await stack.homeserverUser("ivan");
      const { sid, clientSecret: secret } = await stack.validateEmail(ivan.token, "ivan@example.org");
      await errcode(stack.call("POST", "/3pid/bind", { token: ivan.token, body: { sid, client_secret: secret, mxid: "@someone:else.test" } }), 403, "M_FORBIDDEN");
      await errcode(stack.call("POST", "/3pid/bind", { token: ivan.token, body: { sid, client_secret: secret, mxid: "not a user" } }), 400, "M_INVALID_PARAM");
      await errcode(stack.call("POST", "/3pid/bind", { token: ivan.token, body: { sid, client_secret: secret } }), 400, "M_MISSING_PARAMS");
      await errcode(stack.call("POST", "/3pid/bind", { token: ivan.token, body: { sid: "nope", client_secret: secret, mxid: ivan.userId } }), 404, "M_NO_VALID_SESSION");
      const bound = await stack.call("POST", "/3pid/bind", { token: ivan.token, body: { sid, client_secret: secret, mxid: ivan.userId } });
      assert.equal(bound.status, 200, bound.text);
      const association = bound.json as JsonObject;
      assert.equal(association["address"], "ivan@example.org");
      assert.equal(association["medium"], "email");
      assert.equal(association["mxid"], ivan.userId);
      assert.ok((association["not_before"] as number) <= (association["ts"] as number));
      assert.ok((association["not_after"] as number) > Date.now() + 365 * 24 * 3600 * 1000);
      assert.ok(verifyJsonSignature(association, IS_NAME, "ed25519:0", serviceKey), "signed by the service's long-term key");

      const details = await stack.call("GET", "/hash_details", { token: ivan.token });
      assert.deepEqual(details.json["algorithms"], ["none", "sha256"]);
      const pepper = details.json["lookup_pepper"] as string;
      const hash = lookupHash("ivan@example.org", "email", pepper);
      const unknown = lookupHash("nobody@example.org", "email", pepper);
      const lookup = await stack.call("POST", "/lookup", { token: ivan.token, body: { algorithm: "sha256", pepper, addresses: [hash, unknown] } });
      assert.deepEqual(lookup.json, { mappings: { [hash]: ivan.userId } });
      const plain = await stack.call("POST", "/lookup", { token: ivan.token, body: { algorithm: "none", pepper, addresses: ["ivan@example.org email", "nobody@example.org email", "garbage"] } });
      assert.deepEqual(plain.json, { mappings: { "ivan@example.org email": ivan.userId } });
      const many = Array.from({ length: 120 }, (_, i) => lookupHash(`n${i}@example.org`, "email", pepper));
      assert.deepEqual((await stack.call("POST", "/lookup", { token: ivan.token, body: { algorithm: "sha256", pepper, addresses: [...many, hash] } })).json, { mappings: { [hash]: ivan.userId } });

      const badPepper = await errcode(stack.call("POST", "/lookup", { token: ivan.token, body: { algorithm: "sha256", pepper: "matrixrocks", addresses: [hash] } }), 400, "M_INVALID_PEPPER");
      assert.equal(badPepper["lookup_pepper"], pepper);
      await errcode(stack.call("POST", "/lookup", { token: ivan.token, body: { algorithm: "md5", pepper, addresses: [hash] } }), 400, "M_INVALID_PARAM");
      await errcode(stack.call("POST", "/lookup", { token: ivan.token, body: { algorithm: "sha256", pepper } }), 400, "M_MISSING_PARAMS");
      await errcode(stack.call("POST", "/lookup", { token: ivan.token, body: { algorithm: "sha256", pepper, addresses: "x" } }), 400, "M_INVALID_PARAM");
    });

    it("unbinds with the session that validated the 3PID", async () => {
      const jane = await stack.homeserverUser("jane");
      const { sid, clientSecret: secret } = await stack.validateEmail(jane.token, "jane@example.org");
      assert.equal((await stack.call("POST", "/3pid/bind", { token: jane.token, body: { sid, client_secret: secret, mxid: jane.userId } })).status, 200);
      const threepid = { medium: "email", address: "jane@example.org" };
      const other = await stack.validateEmail(jane.token, "jane.other@example.org");
      await errcode(stack.call("POST", "/3pid/unbind", { body: { sid: other.sid, client_secret: other.clientSecret, mxid: jane.userId, threepid } }), 403, "M_FORBIDDEN");
      await errcode(stack.call("POST", "/3pid/unbind", { body: { mxid: jane.userId, threepid } }), 403, "M_FORBIDDEN");
      await errcode(stack.call("POST", "/3pid/unbind", { body: { sid, mxid: jane.userId, threepid } }), 400, "M_MISSING_PARAMS");
      await errcode(stack.call("POST", "/3pid/unbind", { body: { sid, client_secret: secret, mxid: jane.userId } }), 400, "M_MISSING_PARAMS");
      await errcode(stack.call("POST", "/3pid/unbind", { body: { sid, client_secret: secret, mxid: jane.userId, threepid: { medium: "pigeon", address: "x" } } }), 400, "M_INVALID_PARAM");
      const unbound = await stack.call("POST", "/3pid/unbind", { body: { sid, client_secret: secret, mxid: jane.userId, threepid } });
      assert.deepEqual([unbound.status, unbound.json], [200, {}]);
      const pepper = (await stack.call("GET", "/hash_details", { token: jane.token })).json["lookup_pepper"] as string;
      const lookup = await stack.call("POST", "/lookup", { token: jane.token, body: { algorithm: "none", pepper, addresses: ["jane@example.org email"] } });
      assert.deepEqual(lookup.json, { mappings: {} });
    });

    it("unbinds when the user's homeserver signs the request (X-Matrix)", async () => {
      const kim = await stack.homeserverUser("kim");
      const { sid, clientSecret: secret } = await stack.validateEmail(kim.token, "kim@example.org");
      assert.equal((await stack.call("POST", "/3pid/bind", { token: kim.token, body: { sid, client_secret: secret, mxid: kim.userId } })).status, 200);
      const body = { mxid: kim.userId, threepid: { medium: "email", address: "kim@example.org" } };
      const uri = "/_matrix/identity/v2/3pid/unbind";
      const hsKey = stack.hs.server.services.serverKeys.signingKey;
      const sign = (content: Json, origin = stack.hs.serverName, key = hsKey) => signRequest({ method: "POST", uri, origin, destination: IS_NAME, content: content as JsonObject }, key);

      // Signed with a key the homeserver does not have, or over another body: refused.
      await errcode(stack.call("POST", "/3pid/unbind", { body, headers: { authorization: sign(body, stack.hs.serverName, generateSigningKey(hsKey.version)) } }), 403, "M_FORBIDDEN");
      await errcode(stack.call("POST", "/3pid/unbind", { body, headers: { authorization: sign({ ...body, mxid: "@other:x.test" }) } }), 403, "M_FORBIDDEN");
      // Signed by a server that does not control the user.
      const foreign = { mxid: `@kim:${stack.remote.serverName}`, threepid: body.threepid };
      await errcode(stack.call("POST", "/3pid/unbind", { body: foreign, headers: { authorization: sign(foreign) } }), 403, "M_FORBIDDEN");

      const pepper = (await stack.call("GET", "/hash_details", { token: kim.token })).json["lookup_pepper"] as string;
      const lookupKim = () => stack.call("POST", "/lookup", { token: kim.token, body: { algorithm: "none", pepper, addresses: ["kim@example.org email"] } });
      assert.deepEqual((await lookupKim()).json, { mappings: { "kim@example.org email": kim.userId } });
      const unbound = await stack.call("POST", "/3pid/unbind", { body, headers: { authorization: sign(body) } });
      assert.deepEqual([unbound.status, unbound.json], [200, {}], unbound.text);
      assert.deepEqual((await lookupKim()).json, { mappings: {} });
    });

    it("stores an invitation, mails it, signs with its ephemeral key, and hands it over on bind", async () => {
      const lena = await stack.homeserverUser("lena");
      const invite = {
        medium: "email",
        address: "Mona@Example.org",
        room_id: "!room:example.test",
        sender: lena.userId,
        room_name: "Book club",
        sender_display_name: "Lena",
        room_alias: "#books:example.test",
      };
      const stored = await stack.call("POST", "/store-invite", { token: lena.token, body: invite });
      assert.equal(stored.status, 200, stored.text);
      const token = stored.json["token"] as string;
      assert.match(token, /^[0-9a-zA-Z.=_-]{1,255}$/);
      assert.equal(stored.json["display_name"], "m...@ex...");
      const keys = stored.json["public_keys"] as Array<{ public_key: string; key_validity_url: string }>;
      assert.equal(keys.length, 2);
      assert.deepEqual(publicKey(keys[0]?.public_key), serviceKey);
      assert.equal(keys[0]?.key_validity_url, "https://id.test/_matrix/identity/v2/pubkey/isvalid");
      assert.equal(keys[1]?.key_validity_url, "https://id.test/_matrix/identity/v2/pubkey/ephemeral/isvalid");
      const ephemeral = keys[1]?.public_key as string;

      const mail = await stack.smtp.next("mona@example.org");
      assert.match(mail.subject, /Lena invited you to Book club/);
      assert.match(mail.text, /Book club/);
      const link = new URL(/(https:\/\/chat\.test\S+)/.exec(mail.text)?.[1] as string);
      const fragment = new URLSearchParams(link.hash.split("?")[1]);
      assert.equal(fragment.get("email"), "mona@example.org");
      const signurl = new URL(fragment.get("signurl") as string);
      assert.equal(signurl.searchParams.get("token"), token);
      const privateKey = signurl.searchParams.get("private_key") as string;

      const check = (path: string, key: string) => stack.call("GET", `${path}?public_key=${encodeURIComponent(key)}`);
      assert.deepEqual((await check("/pubkey/isvalid", keys[0]?.public_key as string)).json, { valid: true });
      assert.deepEqual((await check("/pubkey/isvalid", ephemeral)).json, { valid: false });
      assert.deepEqual((await check("/pubkey/ephemeral/isvalid", ephemeral)).json, { valid: true });
      assert.deepEqual((await check("/pubkey/ephemeral/isvalid", Buffer.from(publicKey(ephemeral)).toString("base64url"))).json, { valid: true }, "the URL-safe alphabet too");
      assert.deepEqual((await check("/pubkey/ephemeral/isvalid", generateSigningKey("0").publicKeyBase64)).json, { valid: false });
      assert.deepEqual((await check("/pubkey/ephemeral/isvalid", "not base64!")).json, { valid: false });
      await errcode(stack.call("GET", "/pubkey/ephemeral/isvalid"), 400, "M_MISSING_PARAMS");

      const signed = await stack.call("POST", "/sign-ed25519", { token: lena.token, body: { mxid: "@mona:example.test", token, private_key: privateKey } });
      assert.equal(signed.status, 200, signed.text);
      assert.equal(signed.json["mxid"], "@mona:example.test");
      assert.equal(signed.json["sender"], lena.userId);
      assert.equal(signed.json["token"], token);
      assert.ok(verifyJsonSignature(signed.json as JsonObject, IS_NAME, "ed25519:0", publicKey(ephemeral)), "signed with the ephemeral key");
      await errcode(stack.call("POST", "/sign-ed25519", { token: lena.token, body: { mxid: "@mona:example.test", token: "unknown", private_key: privateKey } }), 404, "M_UNRECOGNIZED");
      const otherKey = Buffer.from(generateSigningKey("0").seed).toString("base64").replace(/=+$/, "");
      await errcode(stack.call("POST", "/sign-ed25519", { token: lena.token, body: { mxid: "@mona:example.test", token, private_key: otherKey } }), 400, "M_INVALID_PARAM");
      await errcode(stack.call("POST", "/sign-ed25519", { token: lena.token, body: { mxid: "@mona:example.test", token } }), 400, "M_MISSING_PARAMS");
      await errcode(stack.call("POST", "/sign-ed25519", { body: { mxid: "@mona:example.test", token, private_key: privateKey } }), 401, "M_UNAUTHORIZED");

      await errcode(stack.call("POST", "/store-invite", { token: lena.token, body: { ...invite, medium: "msisdn", address: "447700900001" } }), 400, "M_UNRECOGNIZED");
      await errcode(stack.call("POST", "/store-invite", { token: lena.token, body: { medium: "email", address: "x@example.org", sender: lena.userId } }), 400, "M_MISSING_PARAMS");
      await errcode(stack.call("POST", "/store-invite", { token: lena.token, body: { ...invite, room_id: "room" } }), 400, "M_INVALID_PARAM");
      await errcode(stack.call("POST", "/store-invite", { token: lena.token, body: { ...invite, address: "nobody" } }), 400, "M_INVALID_EMAIL");

      // Mona, on the other homeserver, binds the address: her homeserver is told of the invitation,
      // after a first try it answers 503 to.
      stack.remote.failNext = 1;
      const mona = await stack.remoteUser("mona");
      const { sid, clientSecret: secret } = await stack.validateEmail(mona.token, "mona@example.org");
      assert.equal((await stack.call("POST", "/3pid/bind", { token: mona.token, body: { sid, client_secret: secret, mxid: mona.userId } })).status, 200);
      await eventually("the onbind notification", () => stack.remote.onbinds.length > 0);
      assert.equal(stack.remote.failNext, 0, "the first try was answered 503, then tried again");
      const onbind = stack.remote.onbinds[0]?.body as Json;
      assert.equal(onbind["medium"], "email");
      assert.equal(onbind["address"], "mona@example.org");
      assert.equal(onbind["mxid"], mona.userId);
      const invites = onbind["invites"] as Json[];
      assert.equal(invites.length, 1);
      const delivered = invites[0] as Json;
      assert.equal(delivered["room_id"], "!room:example.test");
      assert.equal(delivered["sender"], lena.userId);
      assert.equal(delivered["mxid"], mona.userId);
      const signedBlock = delivered["signed"] as JsonObject;
      assert.equal(signedBlock["mxid"], mona.userId);
      assert.equal(signedBlock["token"], token);
      assert.ok(verifyJsonSignature(signedBlock, IS_NAME, "ed25519:0", serviceKey), "signed by the service's long-term key");

      const inUse = await errcode(stack.call("POST", "/store-invite", { token: lena.token, body: invite }), 400, "M_THREEPID_IN_USE");
      assert.equal(inUse["mxid"], mona.userId);
      // A second bind of the address does not hand the same invitation over again.
      assert.equal((await stack.call("POST", "/3pid/bind", { token: mona.token, body: { sid, client_secret: secret, mxid: mona.userId } })).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(stack.remote.onbinds.length, 1);
    });

    it("serves its long-term key by ID", async () => {
      await errcode(stack.call("GET", "/pubkey/ed25519:1"), 404, "M_NOT_FOUND");
      await errcode(stack.call("GET", "/pubkey/isvalid"), 400, "M_MISSING_PARAMS");
      assert.deepEqual((await stack.call("GET", "/pubkey/isvalid?public_key=AAAA")).json, { valid: false });
    });

    it("keeps its keys, pepper, tokens, sessions and associations across a restart", async () => {
      const otto = await stack.homeserverUser("otto");
      const { sid, clientSecret: secret } = await stack.validateEmail(otto.token, "otto@example.org");
      assert.equal((await stack.call("POST", "/3pid/bind", { token: otto.token, body: { sid, client_secret: secret, mxid: otto.userId } })).status, 200);
      const pepper = (await stack.call("GET", "/hash_details", { token: otto.token })).json["lookup_pepper"];
      await stack.restart();
      const key = await stack.call("GET", "/pubkey/ed25519:0");
      assert.deepEqual(publicKey(key.json["public_key"]), serviceKey);
      assert.deepEqual((await stack.call("GET", "/account", { token: otto.token })).json, { user_id: otto.userId });
      assert.equal((await stack.call("GET", "/hash_details", { token: otto.token })).json["lookup_pepper"], pepper);
      assert.equal((await stack.call("GET", `/3pid/getValidated3pid?sid=${sid}&client_secret=${secret}`, { token: otto.token })).status, 200);
      const hash = lookupHash("otto@example.org", "email", pepper as string);
      assert.deepEqual((await stack.call("POST", "/lookup", { token: otto.token, body: { algorithm: "sha256", pepper, addresses: [hash] } })).json, { mappings: { [hash]: otto.userId } });
    });
  });
}
