/**
 * End-to-end encryption with the real client SDK: matrix-js-sdk and its Rust crypto (the wasm
 * build, in memory) against Weft on both engines.
 *
 * Two users in an encrypted room exchange messages both ways and decrypt them; a device one of them
 * logs in later decrypts what is sent after it appeared (the sender learns of it through
 * device_lists); one user bootstraps cross-signing and the other sees the published keys and the
 * device signed by them; a key backup is created and receives the room keys. Throughout, the
 * server stores ciphertext only: no stored event, to-device message or backed-up key holds the
 * plaintext.
 *
 * The waits below poll for an outcome with a generous deadline (the SDK syncs and backs up keys
 * in the background); nothing asserts how long anything took.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createClient,
  MatrixError,
  MsgType,
  type AuthDict,
  type UIAuthCallback,
  type MatrixClient,
} from "matrix-js-sdk";
import { engines } from "../storage/engines.ts";
import { decryptedBodies, quiet, startWithCrypto, waitFor } from "./sdk.ts";
import { ACCOUNTS_YAML, call, registerUser, type TestUser } from "../homeserver/api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../homeserver/harness.ts";

interface Session {
  readonly user: TestUser;
  readonly client: MatrixClient;
}

/** A logged-in client with Rust crypto in memory, syncing. */
async function startSession(hs: TestHomeserver, user: TestUser): Promise<Session> {
  const client = createClient({ baseUrl: hs.baseUrl, userId: user.userId, deviceId: user.deviceId, accessToken: user.accessToken, logger: quiet() });
  await startWithCrypto(client);
  return { user, client };
}

/** Logs the user in again: a new device. */
async function newDevice(hs: TestHomeserver, user: TestUser): Promise<TestUser> {
  const reply = await call(hs, "POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: user.userId }, password: user.password },
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return { ...user, accessToken: reply.body["access_token"] as string, deviceId: reply.body["device_id"] as string };
}

async function waitForMessage(session: Session, roomId: string, body: string): Promise<void> {
  await waitFor(`${session.user.userId} (${session.user.deviceId}) to decrypt "${body}"`, () => decryptedBodies(session.client, roomId).includes(body) || undefined);
}

/** The SDK's UIA callback: the request alone first, the user's password when challenged. */
function passwordUia(user: TestUser): UIAuthCallback<void> {
  return async (makeRequest) => {
    try {
      await makeRequest(null);
    } catch (error) {
      if (!(error instanceof MatrixError) || error.httpStatus !== 401) throw error;
      const session = error.data["session"] as string | undefined;
      const auth: AuthDict = { type: "m.login.password", identifier: { type: "m.id.user", user: user.userId }, password: user.password, ...(session === undefined ? {} : { session }) };
      await makeRequest(auth);
    }
  };
}

for (const engine of engines) {
  describe(`end-to-end encryption with matrix-js-sdk's Rust crypto [${engine}]`, () => {
    let hs: TestHomeserver;
    const sessions: Session[] = [];
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(async () => {
      for (const s of sessions) s.client.stopClient();
      await hs.stop();
    });

    it("encrypts both ways, reaches a new device, publishes cross-signing keys and backs up room keys, storing no plaintext", async () => {
      const alice = await startSession(hs, await registerUser(hs, "e2ealice"));
      const bob = await startSession(hs, await registerUser(hs, "e2ebob"));
      sessions.push(alice, bob);

      // An encrypted room, alice inviting bob.
      const { room_id: roomId } = await alice.client.createRoom({
        invite: [bob.user.userId],
        initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      await waitFor("bob's invite", () => bob.client.getRoom(roomId)?.getMyMembership() === "invite" || undefined);
      await bob.client.joinRoom(roomId);
      await waitFor("alice to see bob joined", () => alice.client.getRoom(roomId)?.getMember(bob.user.userId)?.membership === "join" || undefined);
      await waitFor("bob to know the room is encrypted", async () => (await bob.client.getCrypto()?.isEncryptionEnabledInRoom(roomId)) || undefined);

      const secrets = ["alice's first secret", "bob's reply secret", "for bob's new device", "after cross-signing"];
      await alice.client.sendMessage(roomId, { msgtype: MsgType.Text, body: secrets[0] as string });
      await waitForMessage(bob, roomId, secrets[0] as string);
      await bob.client.sendMessage(roomId, { msgtype: MsgType.Text, body: secrets[1] as string });
      await waitForMessage(alice, roomId, secrets[1] as string);

      // Bob logs in on a third device; alice's client learns of it through device_lists and keys/query.
      const bob2 = await startSession(hs, await newDevice(hs, bob.user));
      sessions.push(bob2);
      await waitFor("alice to know bob's new device", async () => {
        const devices = await alice.client.getCrypto()?.getUserDeviceInfo([bob.user.userId]);
        return devices?.get(bob.user.userId)?.has(bob2.user.deviceId) || undefined;
      });
      await alice.client.sendMessage(roomId, { msgtype: MsgType.Text, body: secrets[2] as string });
      await waitForMessage(bob2, roomId, secrets[2] as string);
      await waitForMessage(bob, roomId, secrets[2] as string);

      // Alice bootstraps cross-signing: bob sees her keys and her device signed by them.
      const aliceCrypto = alice.client.getCrypto();
      assert.ok(aliceCrypto !== undefined);
      await aliceCrypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: passwordUia(alice.user) });
      const aliceMaster = await aliceCrypto.getCrossSigningKeyId();
      assert.ok(aliceMaster !== null);
      const bobCrypto = bob.client.getCrypto();
      assert.ok(bobCrypto !== undefined);
      await waitFor("bob to see alice's cross-signing keys", async () => (await bobCrypto.userHasCrossSigningKeys(alice.user.userId, true)) || undefined);
      await waitFor("bob to see alice's device signed by her self-signing key", async () => {
        const status = await bobCrypto.getDeviceVerificationStatus(alice.user.userId, alice.user.deviceId);
        return status?.signedByOwner || undefined;
      });
      const queried = await call(hs, "POST", "/_matrix/client/v3/keys/query", { token: bob.user.accessToken, body: { device_keys: { [alice.user.userId]: [] } } });
      const master = (queried.body["master_keys"] as Record<string, { keys: Record<string, string> }>)[alice.user.userId];
      assert.deepEqual(Object.values(master?.keys ?? {}), [aliceMaster]);
      assert.equal((queried.body["user_signing_keys"] as Record<string, unknown>)[alice.user.userId], undefined, "alice's user-signing key is hers alone");

      // Alice creates a key backup; her client uploads the room keys it has.
      await aliceCrypto.resetKeyBackup();
      const version = await waitFor("alice's client to back up to the new version", async () => (await aliceCrypto.getActiveSessionBackupVersion()) ?? undefined);
      await alice.client.sendMessage(roomId, { msgtype: MsgType.Text, body: secrets[3] as string });
      await waitForMessage(bob, roomId, secrets[3] as string);
      const backup = await waitFor("the room keys in the backup", async () => {
        const info = await call(hs, "GET", "/_matrix/client/v3/room_keys/version", { token: alice.user.accessToken });
        return info.status === 200 && (info.body["count"] as number) > 0 ? info.body : undefined;
      });
      assert.equal(backup["version"], version);
      const keys = await call(hs, "GET", `/_matrix/client/v3/room_keys/keys?version=${version}`, { token: alice.user.accessToken });
      assert.ok(Object.keys((keys.body["rooms"] as Record<string, unknown>)[roomId] as object).length > 0);

      // What the server stored: ciphertext only.
      const db = hs.server.services.db;
      const stored = await db.read("e2e_stored_data", async (trx) => [
        ...(await trx.selectFrom("events").select("json").execute()).map((r) => r.json),
        ...(await trx.selectFrom("to_device_messages").select("message_json").execute()).map((r) => r.message_json),
        ...(await trx.selectFrom("room_key_backup_keys").select("session_data").execute()).map((r) => r.session_data),
      ]);
      const encrypted = stored.filter((json) => json.includes('"m.room.encrypted"'));
      assert.ok(encrypted.length >= secrets.length, "the messages were stored encrypted");
      for (const secret of secrets) assert.ok(!stored.some((json) => json.includes(secret)), `"${secret}" is not stored in the clear`);
    });
  });
}
