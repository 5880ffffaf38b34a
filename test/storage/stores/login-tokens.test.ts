import assert from "node:assert/strict";
import { it } from "node:test";
import { LoginTokenStore } from "../../../src/storage/stores/login-tokens.ts";
import { UserStore } from "../../../src/storage/stores/users.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("LoginTokenStore", (getDb) => {
  it("gives a token back once only, and forgets expired ones", async () => {
    let now = 1_000;
    const tokens = new LoginTokenStore(getDb(), () => now);
    await new UserStore(getDb()).createUser("@dee:hs", null);
    await tokens.create("hash-1", "@dee:hs", 2_000);
    assert.deepEqual(await tokens.consume("hash-1"), { userId: "@dee:hs", expiresTs: 2_000 });
    assert.equal(await tokens.consume("hash-1"), undefined);
    await tokens.create("hash-2", "@dee:hs", 3_000);
    now = 5_000;
    await tokens.create("hash-3", "@dee:hs", 6_000); // sweeps hash-2
    assert.equal(await tokens.consume("hash-2"), undefined);
    assert.ok((await tokens.consume("hash-3")) !== undefined);
  });
});
