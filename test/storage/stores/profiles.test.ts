import assert from "node:assert/strict";
import { it } from "node:test";
import { ProfileStore } from "../../../src/storage/stores/profiles.ts";
import { UserStore } from "../../../src/storage/stores/users.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("ProfileStore", (getDb) => {
  it("reads and changes the historical fields and custom fields", async () => {
    const profiles = new ProfileStore(getDb());
    await new UserStore(getDb()).createUser("@pia:hs", null, { displayname: "Pia" });
    assert.deepEqual(await profiles.getProfile("@pia:hs"), { displayname: "Pia", avatarUrl: null, fields: {} });
    await profiles.changeProfile("@pia:hs", { kind: "avatar_url", value: "mxc://hs/p" }, () => undefined);
    await profiles.changeProfile("@pia:hs", { kind: "field", key: "m.tz", value: "Europe/Paris" }, () => undefined);
    const next = await profiles.changeProfile("@pia:hs", { kind: "field", key: "org.x.y", value: { a: [1, 2] } }, () => undefined);
    assert.deepEqual(next, { displayname: "Pia", avatarUrl: "mxc://hs/p", fields: { "m.tz": "Europe/Paris", "org.x.y": { a: [1, 2] } } });
    assert.deepEqual(await profiles.getProfile("@pia:hs"), next);
    await profiles.changeProfile("@pia:hs", { kind: "field", key: "m.tz", value: undefined }, () => undefined);
    assert.deepEqual((await profiles.getProfile("@pia:hs"))?.fields, { "org.x.y": { a: [1, 2] } });
    assert.equal(await profiles.getProfile("@nobody:hs"), undefined);
    assert.equal(await profiles.changeProfile("@nobody:hs", { kind: "displayname", value: "x" }, () => undefined), undefined);
  });

  it("writes nothing when the check refuses the result, and erases everything", async () => {
    const profiles = new ProfileStore(getDb());
    await new UserStore(getDb()).createUser("@quin:hs", null, { displayname: "Quin" });
    await assert.rejects(
      profiles.changeProfile("@quin:hs", { kind: "displayname", value: "Too long" }, () => {
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.equal((await profiles.getProfile("@quin:hs"))?.displayname, "Quin");
    await profiles.changeProfile("@quin:hs", { kind: "field", key: "org.x.y", value: 1 }, () => undefined);
    await profiles.eraseProfile("@quin:hs");
    assert.deepEqual(await profiles.getProfile("@quin:hs"), { displayname: null, avatarUrl: null, fields: {} });
  });
});
