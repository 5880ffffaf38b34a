/**
 * An email address on an account, as matrix-js-sdk (and Element above it) manages one: the
 * homeserver mails a token (a stand-in mail server receives it), the user opens the link, the client
 * adds the address behind user-interactive auth, logs in with it, resets the password through it
 * while logged out, and deletes it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MatrixError} from "matrix-js-sdk";
import { createClient, type MatrixClient } from "matrix-js-sdk";
import { engines } from "../storage/engines.ts";
import { startMailingHomeserver, type MailingHomeserver } from "../homeserver/threepids/helpers.ts";
import { quiet } from "./sdk.ts";

const EMAIL = "Alice@Example.org";

/** The code and link of the mail the homeserver sent to `email` (the mail server lower-cases the domain). */
async function mailed(m: MailingHomeserver, email: string): Promise<{ token: string; linkPath: string }> {
  const at = email.lastIndexOf("@");
  const mail = await m.smtp.next(`${email.slice(0, at)}${email.slice(at).toLowerCase()}`);
  const token = /code in your client: (\S+)/.exec(mail.text)?.[1];
  const link = /open this link: (\S+)/.exec(mail.text)?.[1];
  assert.ok(token !== undefined && link !== undefined, mail.text);
  const url = new URL(link);
  return { token, linkPath: `${url.pathname}${url.search}` };
}

for (const engine of engines) {
  describe(`email addresses with matrix-js-sdk [${engine}]`, () => {
    let m: MailingHomeserver;
    const clients: MatrixClient[] = [];
    const client = (accessToken?: string, userId?: string): MatrixClient => {
      const c = createClient({ baseUrl: m.hs.baseUrl, ...(accessToken === undefined ? {} : { accessToken, userId }), logger: quiet() });
      clients.push(c);
      return c;
    };

    before(async () => {
      m = await startMailingHomeserver(engine);
    });
    after(async () => {
      for (const c of clients) c.stopClient();
      await m?.stop();
    });

    it("adds an address, logs in and resets the password with it, and deletes it", async () => {
      const guest = client();
      const registered = await guest.registerRequest({ username: "alice", password: "first-password", auth: { type: "m.login.dummy" } });
      const alice = client(registered.access_token, registered.user_id);

      // The token is mailed; the user opens the link in the mail.
      const { sid } = await alice.requestAdd3pidEmailToken(EMAIL, "secret-add", 1);
      const first = await mailed(m, EMAIL);
      const opened = await fetch(`${m.hs.baseUrl}${first.linkPath}`);
      assert.equal(opened.status, 200);

      // /account/3pid/add asks for the password first, as Element's AddThreepid goes through it.
      const uia = await alice.addThreePidOnly({ sid, client_secret: "secret-add" }).then(
        () => assert.fail("adding an address needs user-interactive auth"),
        (err: unknown) => err as MatrixError,
      );
      assert.equal(uia.httpStatus, 401);
      const session = (uia.data as { session?: string }).session;
      await alice.addThreePidOnly({
        sid,
        client_secret: "secret-add",
        auth: { type: "m.login.password", identifier: { type: "m.id.user", user: registered.user_id }, password: "first-password", session } as never,
      });
      assert.deepEqual(
        (await alice.getThreePids()).threepids.map((t) => [t.medium, t.address]),
        [["email", "alice@example.org"]],
      );

      // Logging in with the address instead of the user ID.
      const byEmail = await client().login("m.login.password", { identifier: { type: "m.id.thirdparty", medium: "email", address: EMAIL }, password: "first-password" });
      assert.equal(byEmail.user_id, registered.user_id);

      // A forgotten password, reset from the mail while logged out; every device is logged out.
      const loggedOut = client();
      const reset = await loggedOut.requestPasswordEmailToken(EMAIL, "secret-reset", 1);
      const second = await mailed(m, EMAIL);
      // submit_url is under public_baseurl, which names no address here: the same path on the test server.
      const submitUrl = new URL(reset.submit_url as string);
      await loggedOut.submitMsisdnTokenOtherUrl(`${m.hs.baseUrl}${submitUrl.pathname}`, reset.sid, "secret-reset", second.token);
      await loggedOut.setPassword({ type: "m.login.email.identity", threepid_creds: { sid: reset.sid, client_secret: "secret-reset" } } as never, "second-password");
      await assert.rejects(alice.whoami(), (err: MatrixError) => err.errcode === "M_UNKNOWN_TOKEN");
      const again = await client().login("m.login.password", { identifier: { type: "m.id.thirdparty", medium: "email", address: EMAIL }, password: "second-password" });
      const aliceAgain = client(again.access_token, again.user_id);

      // Deleting the address: nobody logs in with it any more.
      await aliceAgain.deleteThreePid("email", "alice@example.org");
      assert.deepEqual((await aliceAgain.getThreePids()).threepids, []);
      await assert.rejects(
        client().login("m.login.password", { identifier: { type: "m.id.thirdparty", medium: "email", address: EMAIL }, password: "second-password" }),
        (err: MatrixError) => err.httpStatus === 403,
      );
    });
  });
}
