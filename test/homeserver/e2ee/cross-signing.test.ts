/**
 * Cross-signing (modules/end_to_end_encryption.md#cross-signing, cross_signing.yaml) over real HTTP,
 * on both engines: uploading keys (UIA only to replace them), signatures checked and reported in
 * `failures`, and who may see which key and signature in keys/query.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { signJson } from "../../../src/core/crypto/signing.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { engines } from "../../storage/engines.ts";
import { assertError, call, passwordAuth, registerUser, type TestUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML, crossSigningKeyObject, crossSigningKeyPair, uploadDeviceKeys, type E2eeDevice } from "./helpers.ts";
import type { SigningKey } from "../../../src/core/crypto/ed25519.ts";

const DEVICE_SIGNING = "/_matrix/client/v3/keys/device_signing/upload";
const SIGNATURES = "/_matrix/client/v3/keys/signatures/upload";
const QUERY = "/_matrix/client/v3/keys/query";

interface CrossSigningSet {
  master: SigningKey;
  selfSigning: SigningKey;
  userSigning: SigningKey;
  body: JsonObject;
}

function crossSigningSet(userId: string): CrossSigningSet {
  const master = crossSigningKeyPair();
  const selfSigning = crossSigningKeyPair();
  const userSigning = crossSigningKeyPair();
  return {
    master,
    selfSigning,
    userSigning,
    body: {
      master_key: crossSigningKeyObject(userId, "master", master),
      self_signing_key: crossSigningKeyObject(userId, "self_signing", selfSigning, master),
      user_signing_key: crossSigningKeyObject(userId, "user_signing", userSigning, master),
    },
  };
}

for (const engine of engines) {
  describe(`cross-signing [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    const post = (user: TestUser, path: string, body: Record<string, unknown>) => call(hs, "POST", path, { token: user.accessToken, body });
    const query = async (viewer: TestUser, userIds: string[]) => {
      const reply = await post(viewer, QUERY, { device_keys: Object.fromEntries(userIds.map((u) => [u, []])) });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body as Record<string, Record<string, JsonObject>>;
    };

    it("takes the first upload without UIA, the same keys again too, and asks for the password to replace them", async () => {
      const alice = await registerUser(hs, "csalice");
      const keys = crossSigningSet(alice.userId);
      assert.equal((await post(alice, DEVICE_SIGNING, keys.body)).status, 200);
      assert.equal((await post(alice, DEVICE_SIGNING, keys.body)).status, 200, "unchanged keys: idempotent, no UIA");
      assert.equal((await post(alice, DEVICE_SIGNING, { master_key: keys.body["master_key"] ?? {} })).status, 200);

      const replacement = crossSigningSet(alice.userId);
      const challenge = await post(alice, DEVICE_SIGNING, replacement.body);
      assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
      assert.deepEqual(challenge.body["flows"], [{ stages: ["m.login.password"] }]);
      const done = await post(alice, DEVICE_SIGNING, { ...replacement.body, auth: passwordAuth(alice, challenge.body["session"] as string) });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const seen = await query(alice, [alice.userId]);
      assert.deepEqual(seen["master_keys"]?.[alice.userId], replacement.body["master_key"]);
      assert.deepEqual(seen["user_signing_keys"]?.[alice.userId], replacement.body["user_signing_key"]);

      // A new self-signing key alone, signed by the stored master key, is a change too.
      const newSelf = crossSigningKeyPair();
      const partial = { self_signing_key: crossSigningKeyObject(alice.userId, "self_signing", newSelf, replacement.master) };
      const again = await post(alice, DEVICE_SIGNING, partial);
      assert.equal(again.status, 401);
      const partialDone = await post(alice, DEVICE_SIGNING, { ...partial, auth: passwordAuth(alice, again.body["session"] as string) });
      assert.equal(partialDone.status, 200, JSON.stringify(partialDone.body));
    });

    it("refuses keys not signed by the master key, keys without a master key, and keys named like a device", async () => {
      const bob = await registerUser(hs, "csbob", { device_id: "BOBDEVICE" });
      const keys = crossSigningSet(bob.userId);
      const stranger = crossSigningKeyPair();
      assertError(
        await post(bob, DEVICE_SIGNING, { ...keys.body, self_signing_key: crossSigningKeyObject(bob.userId, "self_signing", keys.selfSigning, stranger) }),
        400,
        "M_INVALID_SIGNATURE",
      );
      assertError(await post(bob, DEVICE_SIGNING, { self_signing_key: keys.body["self_signing_key"] ?? {} }), 400, "M_MISSING_PARAM");
      assertError(await post(bob, DEVICE_SIGNING, { master_key: { ...(keys.body["master_key"] as JsonObject), user_id: "@other:test.local" } }), 400, "M_INVALID_PARAM");
      assertError(await post(bob, DEVICE_SIGNING, { master_key: { user_id: bob.userId, usage: ["master"], keys: { "ed25519:abc": "abc" } } }), 400, "M_INVALID_PARAM");
      assertError(await post(bob, DEVICE_SIGNING, { master_key: { user_id: bob.userId, usage: ["master"] } }), 400, "M_MISSING_PARAM");

      // A cross-signing key whose public key is one of the user's device IDs.
      const collider = await registerUser(hs, "cscollide");
      const clash = crossSigningKeyPair();
      const loggedIn = await call(hs, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.user", user: "cscollide" }, password: collider.password, device_id: clash.publicKeyBase64 },
      });
      assert.equal(loggedIn.status, 200, JSON.stringify(loggedIn.body));
      assertError(await post(collider, DEVICE_SIGNING, { master_key: crossSigningKeyObject(collider.userId, "master", clash) }), 403, "M_FORBIDDEN");
    });

    it("checks uploaded signatures, stores the valid ones and reports the others in failures", async () => {
      const carol = await registerUser(hs, "cscarol", { device_id: "CAROLDEV" });
      const dan = await registerUser(hs, "csdan", { device_id: "DANDEV" });
      const carolDevice: E2eeDevice = await uploadDeviceKeys(hs, carol);
      const carolKeys = crossSigningSet(carol.userId);
      const danKeys = crossSigningSet(dan.userId);
      assert.equal((await post(carol, DEVICE_SIGNING, carolKeys.body)).status, 200);
      assert.equal((await post(dan, DEVICE_SIGNING, danKeys.body)).status, 200);

      const deviceSignedBySelf = signJson(carolDevice.deviceKeys, carol.userId, carolKeys.selfSigning);
      const masterSignedByDevice = signJson(carolKeys.body["master_key"] as JsonObject, carol.userId, carolDevice.key);
      const danMasterSignedByCarol = signJson(danKeys.body["master_key"] as JsonObject, carol.userId, carolKeys.userSigning);
      // A signature by some other key, presented as the self-signing key's.
      const stranger = crossSigningKeyPair();
      const forgedSignature = (signJson(carolDevice.deviceKeys, carol.userId, stranger)["signatures"] as Record<string, Record<string, string>>)[carol.userId]?.[stranger.keyId] ?? "";
      const forgedWithSskName = { ...carolDevice.deviceKeys, signatures: { [carol.userId]: { [carolKeys.selfSigning.keyId]: forgedSignature } } };
      const reply = await post(carol, SIGNATURES, {
        [carol.userId]: { CAROLDEV: deviceSignedBySelf, [carolKeys.master.publicKeyBase64]: masterSignedByDevice, NODEVICE: deviceSignedBySelf },
        [dan.userId]: { [danKeys.master.publicKeyBase64]: danMasterSignedByCarol, notthemaster: danMasterSignedByCarol },
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const failures = reply.body["failures"] as Record<string, Record<string, JsonObject>>;
      assert.deepEqual(Object.keys(failures).sort(), [carol.userId, dan.userId].sort());
      assert.deepEqual(Object.keys(failures[carol.userId] ?? {}), ["NODEVICE"]);
      assert.deepEqual(Object.keys(failures[dan.userId] ?? {}), ["notthemaster"]);

      const bad = await post(carol, SIGNATURES, { [carol.userId]: { CAROLDEV: forgedWithSskName } });
      assert.equal((bad.body["failures"] as Record<string, Record<string, JsonObject>>)[carol.userId]?.["CAROLDEV"]?.["errcode"], "M_INVALID_SIGNATURE");
      const changedObject = signJson({ ...carolDevice.deviceKeys, algorithms: ["other"] }, carol.userId, carolKeys.selfSigning);
      const mismatch = await post(carol, SIGNATURES, { [carol.userId]: { CAROLDEV: changedObject } });
      assert.equal((mismatch.body["failures"] as Record<string, Record<string, JsonObject>>)[carol.userId]?.["CAROLDEV"]?.["errcode"], "M_INVALID_SIGNATURE");

      // What carol sees: her self-signing key's signature on her device, her device's on her master
      // key, her user-signing key's on dan's master key.
      const carolView = await query(carol, [carol.userId, dan.userId]);
      const carolDeviceSeen = carolView["device_keys"]?.[carol.userId] as Record<string, JsonObject>;
      const deviceSigs = (carolDeviceSeen["CAROLDEV"]?.["signatures"] as Record<string, Record<string, string>>)[carol.userId] ?? {};
      assert.ok(carolKeys.selfSigning.keyId in deviceSigs && carolDevice.key.keyId in deviceSigs);
      const masterSigs = (carolView["master_keys"]?.[carol.userId]?.["signatures"] as Record<string, Record<string, string>>)[carol.userId] ?? {};
      assert.ok(carolDevice.key.keyId in masterSigs);
      const danMasterSigs = carolView["master_keys"]?.[dan.userId]?.["signatures"] as Record<string, Record<string, string>>;
      assert.ok(carolKeys.userSigning.keyId in (danMasterSigs[carol.userId] ?? {}));
      assert.deepEqual(Object.keys(carolView["user_signing_keys"] ?? {}), [carol.userId], "only her own user-signing key");

      // What dan sees: carol's keys and her own signatures, but not carol's user-signing key nor its
      // signature on his master key (#key-and-signature-security).
      const danView = await query(dan, [carol.userId, dan.userId]);
      assert.deepEqual(Object.keys(danView["user_signing_keys"] ?? {}), [dan.userId]);
      const danOwnMaster = danView["master_keys"]?.[dan.userId]?.["signatures"] as Record<string, Record<string, string>> | undefined;
      assert.equal(danOwnMaster?.[carol.userId], undefined);
      assert.ok(carolDevice.key.keyId in ((danView["master_keys"]?.[carol.userId]?.["signatures"] as Record<string, Record<string, string>>)[carol.userId] ?? {}));
      const danSeesCarolDevice = (danView["device_keys"]?.[carol.userId] as Record<string, JsonObject>)["CAROLDEV"];
      assert.ok(carolKeys.selfSigning.keyId in ((danSeesCarolDevice?.["signatures"] as Record<string, Record<string, string>>)[carol.userId] ?? {}));
      assert.ok(danView["self_signing_keys"]?.[carol.userId] !== undefined);

      // Another server (federation's /user/keys/query) sees what any other user sees, and no
      // user-signing key at all.
      const forServer = (await hs.server.services.e2ee.keys.queryForServer({ [carol.userId]: [], [dan.userId]: [], "@x:elsewhere.example": [] })) as Record<string, Record<string, JsonObject>>;
      assert.deepEqual(Object.keys(forServer).sort(), ["device_keys", "master_keys", "self_signing_keys"]);
      assert.deepEqual(Object.keys(forServer["device_keys"] ?? {}).sort(), [carol.userId, dan.userId].sort());
      assert.equal((forServer["master_keys"]?.[dan.userId]?.["signatures"] as Record<string, unknown> | undefined)?.[carol.userId], undefined);
      const carolDeviceForServer = (forServer["device_keys"]?.[carol.userId] as Record<string, JsonObject>)["CAROLDEV"];
      assert.ok(carolKeys.selfSigning.keyId in ((carolDeviceForServer?.["signatures"] as Record<string, Record<string, string>>)[carol.userId] ?? {}));
    });

    it("refuses signatures by a key the user does not have, and objects that are not objects", async () => {
      const erin = await registerUser(hs, "cserin", { device_id: "ERINDEV" });
      const erinDevice = await uploadDeviceKeys(hs, erin);
      const reply = await post(erin, SIGNATURES, { [erin.userId]: { ERINDEV: erinDevice.deviceKeys } });
      assert.equal((reply.body["failures"] as Record<string, Record<string, JsonObject>>)[erin.userId]?.["ERINDEV"]?.["errcode"], "M_NOT_FOUND");
      assertError(await post(erin, SIGNATURES, { [erin.userId]: { ERINDEV: "x" } }), 400, "M_BAD_JSON");
    });
  });
}
