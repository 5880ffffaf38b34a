import assert from "node:assert/strict";
import { it } from "node:test";
import { UserExistsError, UserStore } from "../../../src/storage/stores/users.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("UserStore", (getDb) => {
  const clock = () => 1_700_000_000_123;

  it("creates a user and reads it back", async () => {
    const users = new UserStore(getDb(), clock);
    const created = await users.createUser("@alice:example.org", "hash-a", { displayname: "Alice" });
    const expected = {
      userId: "@alice:example.org",
      passwordHash: "hash-a",
      admin: false,
      guest: false,
      deactivated: false,
      createdTs: 1_700_000_000_123,
      displayname: "Alice",
      avatarUrl: null,
    };
    assert.deepEqual(created, expected);
    assert.deepEqual(await users.getUser("@alice:example.org"), expected);
  });

  it("stores the admin and guest flags, and a missing password", async () => {
    const users = new UserStore(getDb(), clock);
    await users.createUser("@root:example.org", null, { admin: true });
    await users.createUser("@guest1:example.org", null, { guest: true });
    const root = await users.getUser("@root:example.org");
    const guest = await users.getUser("@guest1:example.org");
    assert.equal(root?.admin, true);
    assert.equal(root?.guest, false);
    assert.equal(root?.passwordHash, null);
    assert.equal(guest?.guest, true);
    assert.equal(guest?.admin, false);
  });

  it("refuses a duplicate user ID with UserExistsError, keeping the first account", async () => {
    const users = new UserStore(getDb(), clock);
    await users.createUser("@bob:example.org", "first");
    await assert.rejects(users.createUser("@bob:example.org", "second", { admin: true }), (err: unknown) => {
      assert.ok(err instanceof UserExistsError);
      assert.equal(err.userId, "@bob:example.org");
      return true;
    });
    const bob = await users.getUser("@bob:example.org");
    assert.equal(bob?.passwordHash, "first");
    assert.equal(bob?.admin, false);
  });

  it("answers whether a user ID is taken", async () => {
    const users = new UserStore(getDb(), clock);
    assert.equal(await users.isUserIdTaken("@carol:example.org"), false);
    assert.equal(await users.getUser("@carol:example.org"), undefined);
    await users.createUser("@carol:example.org", null);
    assert.equal(await users.isUserIdTaken("@carol:example.org"), true);
  });

  it("gives one of two concurrent registrations of the same ID the account", async () => {
    const users = new UserStore(getDb(), clock);
    const results = await Promise.allSettled([
      users.createUser("@race:example.org", "one"),
      users.createUser("@race:example.org", "two"),
    ]);
    const fulfilled = results.filter((r) => r.status === "fulfilled");
    const rejected = results.filter((r) => r.status === "rejected");
    assert.equal(fulfilled.length, 1);
    assert.equal(rejected.length, 1);
    assert.ok(rejected[0]?.reason instanceof UserExistsError);
  });
});
