/**
 * End-to-end encryption between users of two Weft servers federating over TLS (issue 7), with
 * matrix-js-sdk and its Rust crypto: alice on one server and bob on the other share an encrypted
 * room and each decrypts the other's messages (keys asked over /user/keys/query and
 * /user/keys/claim, room keys sent as m.direct_to_device). Then bob logs in a new device: bob's
 * server sends an m.device_list_update, alice's server applies it to its cached copy of bob's list
 * and puts bob in alice's device_lists, and alice's next message reaches the new device too. Last,
 * alice bootstraps cross-signing: the m.signing_key_update and the update for her newly signed
 * device reach bob's server, whose cache then shows bob her keys and her device signed by them.
 *
 * The waits poll for an outcome with a generous deadline; nothing asserts how long anything took.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient, MsgType, Preset, type MatrixClient } from "matrix-js-sdk";
import { Agent, fetch as undiciFetch } from "undici";
import { engines } from "../storage/engines.ts";
import { decryptedBodies, quiet, startWithCrypto, waitFor } from "./sdk.ts";
import { createTestPki, type TestPki } from "../homeserver/federation/pki.ts";
import { startFederatedServer, type FederatedServer } from "../homeserver/federation/federated-server.ts";

interface Session {
  readonly userId: string;
  readonly deviceId: string;
  readonly client: MatrixClient;
}

/** A new device of the user on its server, with a client syncing and Rust crypto in memory. */
async function startSession(server: FederatedServer, userId: string, fetchFn: typeof fetch): Promise<Session> {
  const { deviceId, accessToken } = await server.services.accounts.devices.createSession(userId);
  const client = createClient({ baseUrl: `https://127.0.0.1:${server.port}`, userId, deviceId, accessToken, fetchFn, logger: quiet() });
  await startWithCrypto(client);
  return { userId, deviceId, client };
}

async function waitForMessage(session: Session, roomId: string, body: string): Promise<void> {
  await waitFor(`${session.userId} (${session.deviceId}) to decrypt "${body}"`, () => decryptedBodies(session.client, roomId).includes(body) || undefined);
}

async function knowsDevice(viewer: Session, userId: string, deviceId: string): Promise<true | undefined> {
  const devices = await viewer.client.getCrypto()?.getUserDeviceInfo([userId]);
  return devices?.get(userId)?.has(deviceId) || undefined;
}

for (const engine of engines) {
  describe(`end-to-end encryption across two servers with matrix-js-sdk's Rust crypto [${engine}]`, () => {
    let pki: TestPki;
    let a: FederatedServer;
    let b: FederatedServer;
    let agent: Agent;
    let fetchFn: typeof fetch;
    const sessions: Session[] = [];

    before(async () => {
      pki = await createTestPki();
      a = await startFederatedServer(engine, pki, "localhost");
      b = await startFederatedServer(engine, pki, "127.0.0.1");
      // The clients trust the test CA the servers' certificates come from.
      agent = new Agent({ connect: { ca: pki.caCert } });
      fetchFn = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;
    });
    after(async () => {
      for (const s of sessions) s.client.stopClient();
      // The clients' connections go first: the servers' listeners wait for open ones to close.
      await agent?.destroy();
      await a?.destroy();
      await b?.destroy();
      await pki?.cleanup();
    });

    it("encrypts both ways between the servers, reaches a new device through device_lists, and carries cross-signing keys", async () => {
      const alice = await startSession(a, await a.register("fedalice"), fetchFn);
      const bob = await startSession(b, await b.register("fedbob"), fetchFn);
      sessions.push(alice, bob);

      // A public encrypted room on alice's server, which bob joins through it.
      const { room_id: roomId } = await alice.client.createRoom({
        preset: Preset.PublicChat,
        initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      await bob.client.joinRoom(roomId, { viaServers: [a.serverName] });
      await waitFor("alice to see bob joined", () => alice.client.getRoom(roomId)?.getMember(bob.userId)?.membership === "join" || undefined);
      await waitFor("bob's room to be encrypted", () => bob.client.getRoom(roomId)?.hasEncryptionStateEvent() || undefined);

      const secrets = ["across the federation, from alice", "and back, from bob", "to bob's new device", "after cross-signing"];
      await alice.client.sendMessage(roomId, { msgtype: MsgType.Text, body: secrets[0] as string });
      await waitForMessage(bob, roomId, secrets[0] as string);
      await bob.client.sendMessage(roomId, { msgtype: MsgType.Text, body: secrets[1] as string });
      await waitForMessage(alice, roomId, secrets[1] as string);

      // Alice's server now caches bob's device list (bob shares a room with alice).
      const cachedBefore = await a.services.e2ee.remoteDeviceLists.query(new Map([[bob.userId, []]]));
      assert.deepEqual(Object.keys(cachedBefore.device_keys[bob.userId] ?? {}), [bob.deviceId]);

      // Bob's new device: bob's server tells alice's, alice's client hears of it in device_lists.
      const bob2 = await startSession(b, bob.userId, fetchFn);
      sessions.push(bob2);
      await waitFor("alice's server to cache bob's new device", async () => {
        const cached = await a.services.e2ee.remoteDeviceLists.query(new Map([[bob.userId, [bob2.deviceId]]]));
        return cached.device_keys[bob.userId]?.[bob2.deviceId] !== undefined || undefined;
      });
      await waitFor("alice's client to know bob's new device", () => knowsDevice(alice, bob.userId, bob2.deviceId));
      await alice.client.sendMessage(roomId, { msgtype: MsgType.Text, body: secrets[2] as string });
      await waitForMessage(bob2, roomId, secrets[2] as string);
      await waitForMessage(bob, roomId, secrets[2] as string);

      // Alice bootstraps cross-signing (her first keys: no authentication asked).
      const aliceCrypto = alice.client.getCrypto();
      const bobCrypto = bob.client.getCrypto();
      assert.ok(aliceCrypto !== undefined && bobCrypto !== undefined);
      await aliceCrypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: async (makeRequest) => void (await makeRequest(null)) });
      const aliceMaster = await aliceCrypto.getCrossSigningKeyId();
      assert.ok(aliceMaster !== null);
      await waitFor("bob's server to cache alice's master key", async () => {
        const cached = await b.services.e2ee.remoteDeviceLists.query(new Map([[alice.userId, []]]));
        const keys = cached.master_keys[alice.userId]?.["keys"];
        return (keys !== undefined && Object.values(keys as object).includes(aliceMaster)) || undefined;
      });
      await waitFor("bob to see alice's cross-signing keys", async () => (await bobCrypto.userHasCrossSigningKeys(alice.userId)) || undefined);
      await waitFor("bob to see alice's device signed by her self-signing key", async () => {
        const status = await bobCrypto.getDeviceVerificationStatus(alice.userId, alice.deviceId);
        return status?.signedByOwner || undefined;
      });
      await bob.client.sendMessage(roomId, { msgtype: MsgType.Text, body: secrets[3] as string });
      await waitForMessage(alice, roomId, secrets[3] as string);
    });
  });
}
