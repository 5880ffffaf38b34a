/**
 * End-to-end encryption endpoints checked against the spec (v1.19) the way a conformance suite or
 * a client exercises them, over real HTTP on both engines: each test pins one discrepancy found in
 * the audit, and fails without its fix.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { signJson } from "../../../src/core/crypto/signing.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { DeviceListFederationStore } from "../../../src/storage/stores/device-list-federation.ts";
import { engines } from "../../storage/engines.ts";
import { assertError, call, registerUser, type TestUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML, crossSigningKeyObject, crossSigningKeyPair, deviceSigningKey, signedDeviceKeys, uploadDeviceKeys } from "./helpers.ts";

const UPLOAD = "/_matrix/client/v3/keys/upload";
const QUERY = "/_matrix/client/v3/keys/query";
const DEVICE_SIGNING = "/_matrix/client/v3/keys/device_signing/upload";
const SIGNATURES = "/_matrix/client/v3/keys/signatures/upload";
const SYNC = "/_matrix/client/v3/sync";

type Signatures = Record<string, Record<string, string>>;

for (const engine of engines) {
  describe(`e2ee audit [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    const req = (user: TestUser, method: string, path: string, body?: unknown) => call(hs, method, path, { token: user.accessToken, body });

    // client-server-api#transaction-identifiers: a retransmission is the same transaction ID on the
    // same path; the event type is in the path of PUT /sendToDevice/{eventType}/{txnId}.
    it("treats the same transaction ID with another event type as a new to-device request", async () => {
      const alice = await registerUser(hs, "aualice", { device_id: "AUALICE" });
      const bob = await registerUser(hs, "aubob", { device_id: "AUBOB" });
      const send = (type: string, n: number) => req(alice, "PUT", `/_matrix/client/v3/sendToDevice/${type}/txn1`, { messages: { [bob.userId]: { AUBOB: { n } } } });
      assert.equal((await send("m.audit.one", 1)).status, 200);
      assert.equal((await send("m.audit.one", 2)).status, 200, "a retry answers the same");
      assert.equal((await send("m.audit.two", 3)).status, 200);
      const synced = await req(bob, "GET", SYNC);
      const events = ((synced.body["to_device"] as JsonObject | undefined)?.["events"] ?? []) as JsonObject[];
      assert.deepEqual(
        events.map((e) => [e["type"], (e["content"] as JsonObject)["n"]]),
        [
          ["m.audit.one", 1],
          ["m.audit.two", 3],
        ],
      );
    });

    // definitions/device_keys.yaml requires algorithms, keys and signatures; missing required keys
    // are M_BAD_JSON (client-server-api#common-error-codes; Complement's "Rejects invalid device keys").
    it("answers M_BAD_JSON for device keys without algorithms, keys or signatures", async () => {
      const carol = await registerUser(hs, "aucarol", { device_id: "AUCAROL" });
      assertError(await req(carol, "POST", UPLOAD, { device_keys: { user_id: carol.userId, device_id: carol.deviceId } }), 400, "M_BAD_JSON");
      const good = signedDeviceKeys(carol.userId, carol.deviceId, deviceSigningKey(carol.deviceId));
      for (const field of ["algorithms", "keys", "signatures", "user_id", "device_id"]) {
        const { [field]: _left, ...without } = good;
        assertError(await req(carol, "POST", UPLOAD, { device_keys: without }), 400, "M_BAD_JSON");
      }
      assert.equal((await req(carol, "POST", UPLOAD, { device_keys: good })).status, 200);
    });

    // cross_signing.yaml /keys/signatures/upload: the object must match the key "previously uploaded
    // or retrieved"; keys.yaml master_keys come "along with the signatures ... that the requesting
    // user is allowed to see" (#key-and-signature-security: a user-signing key's signature is the signer's alone).
    it("takes a user-signing signature on another server's user's master key, and shows it to the signer only", async () => {
      const dave = await registerUser(hs, "audave", { device_id: "AUDAVE" });
      const erin = await registerUser(hs, "auerin", { device_id: "AUERIN" });
      await uploadDeviceKeys(hs, dave);
      const master = crossSigningKeyPair();
      const selfSigning = crossSigningKeyPair();
      const userSigning = crossSigningKeyPair();
      const uploaded = await req(dave, "POST", DEVICE_SIGNING, {
        master_key: crossSigningKeyObject(dave.userId, "master", master),
        self_signing_key: crossSigningKeyObject(dave.userId, "self_signing", selfSigning, master),
        user_signing_key: crossSigningKeyObject(dave.userId, "user_signing", userSigning, master),
      });
      assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));

      // A remote user whose list this server has cached (as GET /user/devices or the EDUs filled it).
      const remoteUser = `@frank:remote-${engine}.example`;
      const remoteMaster = crossSigningKeyPair();
      const remoteMasterKey = crossSigningKeyObject(remoteUser, "master", remoteMaster);
      await new DeviceListFederationStore(hs.server.services.db).replaceRemote({ userId: remoteUser, streamId: 1, masterKey: remoteMasterKey, selfSigningKey: undefined, devices: [] });

      const signed = signJson(remoteMasterKey, dave.userId, userSigning);
      const reply = await req(dave, "POST", SIGNATURES, { [remoteUser]: { [remoteMaster.publicKeyBase64]: signed } });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body["failures"], {});

      const seenBy = async (viewer: TestUser): Promise<Signatures | undefined> => {
        const queried = await req(viewer, "POST", QUERY, { device_keys: { [remoteUser]: [] } });
        assert.equal(queried.status, 200, JSON.stringify(queried.body));
        return ((queried.body["master_keys"] as Record<string, JsonObject>)[remoteUser]?.["signatures"] ?? undefined) as Signatures | undefined;
      };
      assert.equal((await seenBy(dave))?.[dave.userId]?.[userSigning.keyId], (signed["signatures"] as Signatures)[dave.userId]?.[userSigning.keyId]);
      assert.equal((await seenBy(erin))?.[dave.userId], undefined);

      // A signature by another key is still refused.
      const forged = signJson(remoteMasterKey, dave.userId, { ...crossSigningKeyPair(), keyId: userSigning.keyId });
      const refused = await req(dave, "POST", SIGNATURES, { [remoteUser]: { [remoteMaster.publicKeyBase64]: forged } });
      assert.equal((refused.body["failures"] as Record<string, Record<string, JsonObject>>)[remoteUser]?.[remoteMaster.publicKeyBase64]?.["errcode"], "M_INVALID_SIGNATURE");
    });
  });
}
