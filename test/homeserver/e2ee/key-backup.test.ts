/**
 * Server-side key backups (modules/end_to_end_encryption.md#server-side-key-backups, key_backup.yaml)
 * over real HTTP on both engines: versions, keys of all rooms / a room / a session, the rules for
 * replacing a stored session key, etag and count, and M_WRONG_ROOM_KEYS_VERSION.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { JsonObject } from "../../../src/core/json.ts";
import { isBetterSessionKey, type BackupSessionKey } from "../../../src/storage/stores/key-backup.ts";
import { engines } from "../../storage/engines.ts";
import { assertError, call, registerUser, type TestUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML } from "./helpers.ts";

const VERSION = "/_matrix/client/v3/room_keys/version";
const KEYS = "/_matrix/client/v3/room_keys/keys";
const ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2";
const ROOM = "!room:test.local";

function keyData(firstMessageIndex: number, forwardedCount: number, isVerified: boolean, tag: string): JsonObject {
  return { first_message_index: firstMessageIndex, forwarded_count: forwardedCount, is_verified: isVerified, session_data: { ciphertext: tag, ephemeral: "e", mac: "m" } };
}

for (const engine of engines) {
  describe(`key backup [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    const req = (user: TestUser, method: string, path: string, body?: unknown) => call(hs, method, path, { token: user.accessToken, body });

    it("creates, reads, updates and deletes backup versions", async () => {
      const alice = await registerUser(hs, "kbalice");
      assertError(await req(alice, "GET", VERSION), 404, "M_NOT_FOUND");
      const created = await req(alice, "POST", VERSION, { algorithm: ALGORITHM, auth_data: { public_key: "pk1" } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const v1 = created.body["version"] as string;
      assert.equal(typeof v1, "string");
      assert.deepEqual((await req(alice, "GET", VERSION)).body, { algorithm: ALGORITHM, auth_data: { public_key: "pk1" }, count: 0, etag: "0", version: v1 });
      const v2 = (await req(alice, "POST", VERSION, { algorithm: ALGORITHM, auth_data: { public_key: "pk2" } })).body["version"] as string;
      assert.notEqual(v2, v1);
      assert.equal((await req(alice, "GET", VERSION)).body["version"], v2, "the latest is current");
      assert.equal((await req(alice, "GET", `${VERSION}/${v1}`)).body["auth_data"] !== undefined, true);

      assert.equal((await req(alice, "PUT", `${VERSION}/${v2}`, { algorithm: ALGORITHM, auth_data: { public_key: "pk2", signatures: {} }, version: v2 })).status, 200);
      assert.deepEqual((await req(alice, "GET", `${VERSION}/${v2}`)).body["auth_data"], { public_key: "pk2", signatures: {} });
      assertError(await req(alice, "PUT", `${VERSION}/${v2}`, { algorithm: ALGORITHM, auth_data: { public_key: "x" }, version: v1 }), 400, "M_INVALID_PARAM");
      assertError(await req(alice, "PUT", `${VERSION}/${v2}`, { algorithm: "m.other", auth_data: {} }), 400, "M_INVALID_PARAM");
      assertError(await req(alice, "PUT", `${VERSION}/999`, { algorithm: ALGORITHM, auth_data: { public_key: "x" } }), 404, "M_NOT_FOUND");
      assertError(await req(alice, "POST", VERSION, { algorithm: ALGORITHM, auth_data: {} }), 400, "M_INVALID_PARAM");
      assertError(await req(alice, "POST", VERSION, { algorithm: ALGORITHM }), 400, "M_MISSING_PARAM");

      assert.equal((await req(alice, "DELETE", `${VERSION}/${v2}`)).status, 200);
      assert.equal((await req(alice, "DELETE", `${VERSION}/${v2}`)).status, 200, "deleted before: still a success");
      assertError(await req(alice, "DELETE", `${VERSION}/12345`), 404, "M_NOT_FOUND");
      assertError(await req(alice, "DELETE", `${VERSION}/abc`), 404, "M_NOT_FOUND");
      assertError(await req(alice, "GET", `${VERSION}/${v2}`), 404, "M_NOT_FOUND");
      assert.equal((await req(alice, "GET", VERSION)).body["version"], v1, "the previous version is current again");
      const v3 = (await req(alice, "POST", VERSION, { algorithm: ALGORITHM, auth_data: { public_key: "pk3" } })).body["version"] as string;
      assert.ok(Number(v3) > Number(v2), "a deleted version's number is not handed out again");

      const bob = await registerUser(hs, "kbbob");
      assertError(await req(bob, "GET", `${VERSION}/${v3}`), 404, "M_NOT_FOUND");
    });

    it("stores keys, keeps the better of two keys for a session, and reports etag and count", async () => {
      const carol = await registerUser(hs, "kbcarol");
      const version = (await req(carol, "POST", VERSION, { algorithm: ALGORITHM, auth_data: { public_key: "pk" } })).body["version"] as string;
      const put1 = await req(carol, "PUT", `${KEYS}?version=${version}`, {
        rooms: { [ROOM]: { sessions: { s1: keyData(5, 1, false, "a"), s2: keyData(0, 0, false, "b") } }, "!other:test.local": { sessions: { s3: keyData(0, 0, true, "c") } } },
      });
      assert.equal(put1.status, 200, JSON.stringify(put1.body));
      assert.equal(put1.body["count"], 3);
      const etag1 = put1.body["etag"];

      const session = (id: string) => req(carol, "GET", `${KEYS}/${encodeURIComponent(ROOM)}/${id}?version=${version}`);
      const put = (id: string, data: JsonObject) => req(carol, "PUT", `${KEYS}/${encodeURIComponent(ROOM)}/${id}?version=${version}`, data);
      // Not better: unverified with a higher index; same index with more forwards. Nothing changes.
      const worse = await put("s1", keyData(6, 0, false, "worse"));
      assert.deepEqual(worse.body, { etag: etag1, count: 3 });
      await put("s1", keyData(5, 2, false, "worse"));
      assert.equal(((await session("s1")).body["session_data"] as JsonObject)["ciphertext"], "a");
      // Better: fewer forwards at the same index, then a lower index, then verified beats all.
      await put("s1", keyData(5, 0, false, "fewer-forwards"));
      assert.equal(((await session("s1")).body["session_data"] as JsonObject)["ciphertext"], "fewer-forwards");
      await put("s1", keyData(2, 9, false, "lower-index"));
      assert.equal(((await session("s1")).body["session_data"] as JsonObject)["ciphertext"], "lower-index");
      const verified = await put("s1", keyData(9, 9, true, "verified"));
      assert.notEqual(verified.body["etag"], etag1);
      assert.equal(((await session("s1")).body["session_data"] as JsonObject)["ciphertext"], "verified");
      await put("s1", keyData(0, 0, false, "unverified-lower"));
      assert.equal(((await session("s1")).body["session_data"] as JsonObject)["ciphertext"], "verified");

      const all = await req(carol, "GET", `${KEYS}?version=${version}`);
      assert.deepEqual(Object.keys(all.body["rooms"] as JsonObject).sort(), ["!other:test.local", ROOM]);
      const room = await req(carol, "GET", `${KEYS}/${encodeURIComponent(ROOM)}?version=${version}`);
      assert.deepEqual(Object.keys(room.body["sessions"] as JsonObject).sort(), ["s1", "s2"]);
      assert.deepEqual((await req(carol, "GET", `${KEYS}/${encodeURIComponent("!empty:test.local")}?version=${version}`)).body, { sessions: {} });
      assertError(await session("nosuch"), 404, "M_NOT_FOUND");
      assert.equal((await req(carol, "GET", VERSION)).body["count"], 3);

      const deletedOne = await req(carol, "DELETE", `${KEYS}/${encodeURIComponent(ROOM)}/s2?version=${version}`);
      assert.equal(deletedOne.body["count"], 2);
      const deletedRoom = await req(carol, "DELETE", `${KEYS}/${encodeURIComponent(ROOM)}?version=${version}`);
      assert.equal(deletedRoom.body["count"], 1);
      const deletedAll = await req(carol, "DELETE", `${KEYS}?version=${version}`);
      assert.equal(deletedAll.body["count"], 0);
      assert.equal(typeof deletedAll.body["etag"], "string");
    });

    it("writes only to the current version: M_WRONG_ROOM_KEYS_VERSION with the current one", async () => {
      const dave = await registerUser(hs, "kbdave");
      assertError(await req(dave, "PUT", `${KEYS}/${encodeURIComponent(ROOM)}/s?version=1`, keyData(0, 0, false, "x")), 404, "M_NOT_FOUND");
      const old = (await req(dave, "POST", VERSION, { algorithm: ALGORITHM, auth_data: { public_key: "old" } })).body["version"] as string;
      await req(dave, "PUT", `${KEYS}/${encodeURIComponent(ROOM)}/s?version=${old}`, keyData(0, 0, false, "old"));
      const current = (await req(dave, "POST", VERSION, { algorithm: ALGORITHM, auth_data: { public_key: "new" } })).body["version"] as string;
      const wrong = await req(dave, "PUT", `${KEYS}/${encodeURIComponent(ROOM)}/s?version=${old}`, keyData(0, 0, false, "x"));
      assertError(wrong, 403, "M_WRONG_ROOM_KEYS_VERSION");
      assert.equal(wrong.body["current_version"], current);
      assertError(await req(dave, "PUT", `${KEYS}?version=nonsense`, { rooms: {} }), 403, "M_WRONG_ROOM_KEYS_VERSION");
      // The old version stays readable.
      assert.equal(((await req(dave, "GET", `${KEYS}/${encodeURIComponent(ROOM)}/s?version=${old}`)).body["session_data"] as JsonObject)["ciphertext"], "old");
      assertError(await req(dave, "GET", `${KEYS}`), 400, "M_MISSING_PARAM");
      assertError(await req(dave, "PUT", `${KEYS}/${encodeURIComponent(ROOM)}/s?version=${current}`, { first_message_index: 0 }), 400, "M_MISSING_PARAM");
      assertError(await req(dave, "GET", `${KEYS}?version=999`), 404, "M_NOT_FOUND");
    });

    it("deletes a deactivated account's backups, keys and versions", async () => {
      const dora = await registerUser(hs, "kbdora");
      const version = (await req(dora, "POST", VERSION, { algorithm: ALGORITHM, auth_data: { public_key: "pk" } })).body["version"] as string;
      assert.equal((await req(dora, "PUT", `${KEYS}/${encodeURIComponent(ROOM)}/s1?version=${version}`, keyData(0, 0, true, "secret"))).status, 200);
      const deactivated = await req(dora, "POST", "/_matrix/client/v3/account/deactivate", { auth: { type: "m.login.password", identifier: { type: "m.id.user", user: dora.userId }, password: dora.password } });
      assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));
      const backups = hs.server.services.e2ee.keyBackups;
      await assert.rejects(backups.getVersion(dora.userId, undefined), { errcode: "M_NOT_FOUND" });
      await assert.rejects(backups.getAllKeys(dora.userId, version), { errcode: "M_NOT_FOUND" });
    });
  });
}

describe("isBetterSessionKey", () => {
  const sessionKey = fc.record({ firstMessageIndex: fc.nat(100), forwardedCount: fc.nat(5), isVerified: fc.boolean(), sessionData: fc.constant({}) });
  const rank = (k: BackupSessionKey): [number, number, number] => [k.isVerified ? 0 : 1, k.firstMessageIndex, k.forwardedCount];
  const compare = (a: BackupSessionKey, b: BackupSessionKey): number => {
    const [x, y] = [rank(a), rank(b)];
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  };

  it("is the spec's order: verified, then lower first_message_index, then lower forwarded_count", () => {
    fc.assert(
      fc.property(sessionKey, sessionKey, (a, b) => {
        assert.equal(isBetterSessionKey(a, b), compare(a, b) < 0);
        // Never both better than each other; an equal key never replaces.
        assert.ok(!(isBetterSessionKey(a, b) && isBetterSessionKey(b, a)));
        assert.equal(isBetterSessionKey(a, a), false);
      }),
    );
  });

  it("keeps the best of any sequence of uploads, whatever their order", () => {
    fc.assert(
      fc.property(fc.array(sessionKey, { minLength: 1, maxLength: 10 }), (uploads) => {
        let stored = uploads[0] as BackupSessionKey;
        for (const candidate of uploads.slice(1)) if (isBetterSessionKey(candidate, stored)) stored = candidate;
        const best = [...uploads].sort(compare)[0] as BackupSessionKey;
        assert.equal(compare(stored, best), 0);
      }),
    );
  });
});
