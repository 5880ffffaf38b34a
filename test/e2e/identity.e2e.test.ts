/**
 * The identity service with the homeservers it serves, driven by matrix-js-sdk as Element drives
 * them: two Weft homeservers federating over TLS on loopback, and Weft's identity service over
 * TLS beside them, with a stand-in mail server.
 *
 * alice (server A) invites bob's email address to a room before bob has bound it: A looks the
 * address up at the identity service, finds nobody, stores the invite there (which mails bob) and
 * puts an m.room.third_party_invite in the room. bob (server B) registers with the identity service
 * through an OpenID token, validates the address from the mail and binds it through his homeserver
 * (/account/3pid/bind). The identity service then tells B (/3pid/onbind), B asks A to make the
 * invite (/exchange_third_party_invite), and bob sees the invite, joins, and alice sees him joined
 * and can look his address up. Last, bob unbinds it through B, signed by B's key.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { createClient, Preset, type MatrixClient } from "matrix-js-sdk";
import { Agent, fetch as undiciFetch } from "undici";
import { parseIdentityServiceConfig } from "../../src/identity/config.ts";
import { startIdentityService, type RunningIdentityService } from "../../src/identity/service.ts";
import { freePort } from "../homeserver/federation/tls-homeserver.ts";
import { createTestPki, type TestPki } from "../homeserver/federation/pki.ts";
import { startFederatedServer, type FederatedServer } from "../homeserver/federation/federated-server.ts";
import { startSmtpStandIn, type SmtpStandIn } from "../mail/smtp-stand-in.ts";
import { createTestStorage, engines, type TestStorage } from "../storage/engines.ts";
import { quiet, waitFor } from "./sdk.ts";

const BOB_EMAIL = "bob@example.org";

for (const engine of engines) {
  describe(`the identity service with two federating homeservers and matrix-js-sdk [${engine}]`, () => {
    let pki: TestPki;
    let a: FederatedServer;
    let b: FederatedServer;
    let smtp: SmtpStandIn;
    let storage: TestStorage;
    let dir: string;
    let identity: RunningIdentityService;
    let idServer: string;
    let agent: Agent;
    let fetchFn: typeof fetch;
    const clients: MatrixClient[] = [];

    /** A client of `userId` on `server`, with the identity service as its identity server. */
    async function clientOf(server: FederatedServer, userId: string): Promise<{ client: MatrixClient; idToken: () => string | undefined; setIdToken: (t: string) => void }> {
      const { deviceId, accessToken } = await server.services.accounts.devices.createSession(userId);
      let idToken: string | undefined;
      const client = createClient({
        baseUrl: `https://127.0.0.1:${server.port}`,
        idBaseUrl: `https://${idServer}`,
        identityServer: { getAccessToken: () => Promise.resolve(idToken ?? null) },
        userId,
        deviceId,
        accessToken,
        fetchFn,
        logger: quiet(),
      });
      clients.push(client);
      return { client, idToken: () => idToken, setIdToken: (t) => (idToken = t) };
    }

    /** Registers the client's user with the identity service (an OpenID token of its homeserver) and accepts its terms. */
    async function registerWithIdentityServer(client: MatrixClient): Promise<string> {
      const openId = await client.getOpenIdToken();
      const { token } = await client.registerWithIdentityServer(openId);
      return token;
    }

    before(async () => {
      pki = await createTestPki();
      a = await startFederatedServer(engine, pki, "localhost");
      b = await startFederatedServer(engine, pki, "127.0.0.1");
      smtp = await startSmtpStandIn();
      storage = await createTestStorage(engine);
      dir = await mkdtemp(join(tmpdir(), "weft-is-e2e-"));
      const port = await freePort();
      idServer = `localhost:${port}`;
      const certificate = pki.issue(["localhost"], ["127.0.0.1"]);
      const { config } = parseIdentityServiceConfig(
        {
          server_name: idServer,
          public_baseurl: `https://${idServer}`,
          http: { port, bind_addresses: ["127.0.0.1"], tls_certificate_path: certificate.certPath, tls_private_key_path: certificate.keyPath },
          email: { smtp_host: "127.0.0.1", smtp_port: smtp.port, notif_from: "Test ID <noreply@id.test>", enable_tls: false },
          federation_custom_ca_list: [pki.caPath],
          ip_range_whitelist: ["127.0.0.0/8"],
          log_level: "silent",
        },
        dir,
      );
      identity = await startIdentityService({ ...config, database: storage.config }, pino({ level: "silent" }), { onbindPollIntervalMs: 100, onbindFirstRetryMs: 100 });
      agent = new Agent({ connect: { ca: pki.caCert } });
      fetchFn = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;
    });
    after(async () => {
      for (const client of clients) client.stopClient();
      await agent?.destroy();
      await identity?.close();
      await a?.destroy();
      await b?.destroy();
      await smtp?.close();
      await storage?.drop();
      await pki?.cleanup();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it("invites an email address, and its owner joins once he binds it on another server; then unbinds it", async () => {
      const aliceId = await a.register("alice");
      const bobId = await b.register("bob");
      const alice = await clientOf(a, aliceId);
      const bob = await clientOf(b, bobId);
      alice.setIdToken(await registerWithIdentityServer(alice.client));
      bob.setIdToken(await registerWithIdentityServer(bob.client));

      // alice invites an address nobody has bound: a third-party invite, and a mail to bob.
      const { room_id: roomId } = await alice.client.createRoom({ preset: Preset.PrivateChat, name: "Plans" });
      await alice.client.inviteByThreePid(roomId, "email", BOB_EMAIL);
      const invitation = await smtp.next(BOB_EMAIL);
      assert.match(invitation.text, /Plans|alice/);
      const state = await alice.client.roomState(roomId);
      const thirdPartyInvite = state.find((e) => e.type === "m.room.third_party_invite");
      assert.ok(thirdPartyInvite !== undefined, "an m.room.third_party_invite is in the room");
      assert.ok(typeof thirdPartyInvite.content["public_key"] === "string");

      // bob validates the address with the identity service, from the link in its mail...
      const clientSecret = `bob_secret_${Date.now()}`;
      const requested = await bob.client.requestEmailToken(BOB_EMAIL, clientSecret, 1, undefined, bob.idToken());
      const validation = await smtp.next(BOB_EMAIL);
      const link = /https:\/\/\S+submitToken\S+/.exec(validation.text)?.[0];
      assert.ok(link !== undefined, `a validation link in: ${validation.text}`);
      const opened = await fetchFn(link, { redirect: "manual" });
      assert.ok(opened.status < 400, `the link answers ${opened.status}`);
      // ... and binds it through his homeserver, which asks the identity service.
      await bob.client.bindThreePid({ sid: requested.sid, client_secret: clientSecret, id_server: idServer, id_access_token: bob.idToken() as string });

      // The identity service tells B, B asks A, and A invites bob into the room.
      await waitFor("alice's server to invite bob", async () => ((await a.membership(roomId, bobId)) === "invite" ? true : undefined));
      const member = await a.stateContent(roomId, "m.room.member", bobId);
      assert.equal((member?.["third_party_invite"] as { signed?: { token?: string } } | undefined)?.signed?.token, thirdPartyInvite.state_key);
      await bob.client.joinRoom(roomId, { viaServers: [a.serverName] });
      await waitFor("bob joined, as alice's server sees it", async () => ((await a.membership(roomId, bobId)) === "join" ? true : undefined));

      // The address now resolves to bob, for alice as for anyone the service serves.
      const found = await alice.client.lookupThreePid("email", BOB_EMAIL, alice.idToken() as string);
      assert.equal((found as { mxid?: string }).mxid, bobId);
      assert.deepEqual((await bob.client.getThreePids()).threepids.map((t) => t.address), [], "binding at the identity service adds no 3PID to the account");

      // bob unbinds it through his homeserver (an X-Matrix request from B): nobody is found any more.
      const unbound = await bob.client.unbindThreePid("email", BOB_EMAIL);
      assert.equal(unbound.id_server_unbind_result, "success");
      const gone = await alice.client.lookupThreePid("email", BOB_EMAIL, alice.idToken() as string);
      assert.equal((gone as { mxid?: string }).mxid, undefined);
    });
  });
}
