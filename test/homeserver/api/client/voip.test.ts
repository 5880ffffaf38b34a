import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, parseConfigText, parseDuration, type TurnConfig } from "../../../../src/config/index.ts";
import { turnCredentials } from "../../../../src/homeserver/voip/turn-credentials.ts";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerGuest, registerUser } from "./helpers.ts";

const TURN: TurnConfig = {
  uris: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"],
  sharedSecret: "s3cret",
  username: undefined,
  password: undefined,
  userLifetimeMs: 60 * 60 * 1000,
  allowGuests: true,
};

describe("turnCredentials", () => {
  it("makes time-limited credentials from the shared secret (the TURN REST API convention)", () => {
    // voip.yaml: username, password, uris and ttl (seconds). Username `<expiry>:<user ID>`, password
    // the padded base64 of its HMAC-SHA1; the vector was computed apart, with Python's hmac.
    assert.deepEqual(turnCredentials(TURN, "@alice:example.org", 1_700_000_000_000), {
      username: "1700003600:@alice:example.org",
      password: "DwTxSrYoQgbdbUzNhDKfrCGmqbE=",
      uris: TURN.uris,
      ttl: 3600,
    });
    const day = { ...TURN, sharedSecret: "other", userLifetimeMs: 24 * 60 * 60 * 1000 };
    assert.deepEqual(turnCredentials(day, "@bob:example.org", 1_700_000_000_999), {
      username: "1700086400:@bob:example.org",
      password: "0od20YwyiF9ThJpJZWagw06LbBQ=",
      uris: TURN.uris,
      ttl: 86400,
    });
  });

  it("hands out the fixed username and password when there is no shared secret; the secret wins when both are set", () => {
    const fixed = { ...TURN, sharedSecret: undefined, username: "turnuser", password: "turnpass" };
    assert.deepEqual(turnCredentials(fixed, "@alice:example.org", 0), { username: "turnuser", password: "turnpass", uris: TURN.uris, ttl: 3600 });
    const both = { ...fixed, sharedSecret: "s3cret" };
    assert.equal(turnCredentials(both, "@alice:example.org", 1_700_000_000_000)["username"], "1700003600:@alice:example.org");
  });

  it("answers {} with no URIs or no credentials (no TURN server offered, as Synapse)", () => {
    assert.deepEqual(turnCredentials({ ...TURN, uris: [] }, "@alice:example.org", 0), {});
    assert.deepEqual(turnCredentials({ ...TURN, sharedSecret: undefined }, "@alice:example.org", 0), {});
    assert.deepEqual(turnCredentials({ ...TURN, sharedSecret: undefined, username: "only-a-name" }, "@alice:example.org", 0), {});
  });
});

describe("parseDuration", () => {
  it("reads Synapse's durations: integers and bare digits are milliseconds, or ms/s/m/h/d/w/y", () => {
    assert.equal(parseDuration(5000), 5000);
    assert.equal(parseDuration("5000"), 5000);
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("30m"), 30 * 60_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("2d"), 2 * 86_400_000);
    assert.equal(parseDuration("1w"), 7 * 86_400_000);
    assert.equal(parseDuration("1y"), 365 * 86_400_000);
  });
  it("refuses anything else", () => {
    for (const bad of [-1, 1.5, "1.5h", "h", "1x", "1 hour", "", true, null]) assert.equal(parseDuration(bad), undefined, String(bad));
  });
});

describe("TURN config keys", () => {
  const parse = (yaml: string) => parseConfigText(`server_name: example.org\n${yaml}`, "/tmp/weft-voip-test/homeserver.yaml");

  it("defaults to no TURN server, a 1h lifetime and guests allowed (Synapse's defaults)", () => {
    const { config } = parse("");
    assert.deepEqual(config.turn, { uris: [], sharedSecret: undefined, username: undefined, password: undefined, userLifetimeMs: 3_600_000, allowGuests: true });
  });

  it("reads Synapse's keys", () => {
    const { config, warnings } = parse(
      ["turn_uris: ['turn:t.example.org?transport=udp', 'turns:t.example.org:443']", "turn_shared_secret: abc", "turn_user_lifetime: 1d", "turn_allow_guests: false"].join("\n"),
    );
    assert.deepEqual(config.turn, {
      uris: ["turn:t.example.org?transport=udp", "turns:t.example.org:443"],
      sharedSecret: "abc",
      username: undefined,
      password: undefined,
      userLifetimeMs: 86_400_000,
      allowGuests: false,
    });
    assert.deepEqual(warnings, []);
    assert.equal(parse("turn_user_lifetime: 86400000").config.turn.userLifetimeMs, 86_400_000);
  });

  it("reads the secret from turn_shared_secret_path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-turn-"));
    await writeFile(join(dir, "turn.secret"), "from-a-file\n");
    const { config } = parseConfigText(`server_name: example.org\nturn_uris: ['turn:t.example.org']\nturn_shared_secret_path: turn.secret\n`, join(dir, "homeserver.yaml"));
    assert.equal(config.turn.sharedSecret, "from-a-file");
    await rm(dir, { recursive: true, force: true });
  });

  it("leaves out URIs that are not turn: or turns: (voip.yaml's pattern) and warns of URIs without credentials", () => {
    const { config, warnings } = parse("turn_uris: ['stun:stun.example.org', 'turn:t.example.org']");
    assert.deepEqual(config.turn.uris, ["turn:t.example.org"]);
    assert.ok(warnings.some((w) => w.includes("turn_uris[0]") && w.includes("stun:")), warnings.join("\n"));
    assert.ok(warnings.some((w) => w.includes("no TURN server is offered")), warnings.join("\n"));
  });

  it("refuses bad values, naming the key", () => {
    const cases: ReadonlyArray<[string, string]> = [
      ["turn_user_lifetime: 500", "turn_user_lifetime"],
      ["turn_user_lifetime: soon", "turn_user_lifetime"],
      ["turn_uris: turn:t.example.org", "turn_uris"],
      ["turn_allow_guests: 'yes'", "turn_allow_guests"],
      ["turn_shared_secret: a\nturn_shared_secret_path: /nonexistent", "turn_shared_secret_path"],
    ];
    for (const [yaml, keyPath] of cases) {
      assert.throws(() => parse(yaml), (err: unknown) => err instanceof ConfigError && err.keyPath === keyPath, yaml);
    }
  });
});

for (const engine of engines) {
  describe(`GET /voip/turnServer [${engine}]`, () => {
    let plain: TestHomeserver;
    let turn: TestHomeserver;
    let noGuests: TestHomeserver;
    before(async () => {
      const guests = "allow_guest_access: true";
      plain = await startTestHomeserver(engine, { yaml: `${ACCOUNTS_YAML}\n${guests}` });
      turn = await startTestHomeserver(engine, {
        yaml: `${ACCOUNTS_YAML}\n${guests}\nturn_uris: ['turn:turn.test.local:3478?transport=udp', 'turns:turn.test.local:5349']\nturn_shared_secret: hunter2\nturn_user_lifetime: 2h`,
      });
      noGuests = await startTestHomeserver(engine, {
        yaml: `${ACCOUNTS_YAML}\n${guests}\nturn_uris: ['turn:turn.test.local']\nturn_username: u\nturn_password: p\nturn_allow_guests: false`,
      });
    });
    after(async () => {
      await Promise.all([plain.stop(), turn.stop(), noGuests.stop()]);
    });

    it("answers {} when no TURN server is configured, as Synapse does", async () => {
      const alice = await registerUser(plain, "alice");
      const reply = await call(plain, "GET", "/_matrix/client/v3/voip/turnServer", { token: alice.accessToken });
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, {});
    });

    it("hands out time-limited credentials that the TURN server can check with the shared secret", async () => {
      const alice = await registerUser(turn, "alice");
      const before = Math.floor(Date.now() / 1000);
      const reply = await call(turn, "GET", "/_matrix/client/v3/voip/turnServer", { token: alice.accessToken });
      const after = Math.floor(Date.now() / 1000);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      // voip.yaml: username, password, uris (turn: or turns:) and ttl, all required.
      assert.deepEqual(reply.body["uris"], ["turn:turn.test.local:3478?transport=udp", "turns:turn.test.local:5349"]);
      assert.equal(reply.body["ttl"], 7200);
      const username = reply.body["username"] as string;
      const [expiry, ...rest] = username.split(":");
      assert.equal(rest.join(":"), alice.userId);
      assert.ok(Number(expiry) >= before + 7200 && Number(expiry) <= after + 7200, username);
      assert.equal(reply.body["password"], createHmac("sha1", "hunter2").update(username).digest("base64"));
      // The r0 path older clients call.
      assert.equal((await call(turn, "GET", "/_matrix/client/r0/voip/turnServer", { token: alice.accessToken })).status, 200);
    });

    it("serves guests by default (turn_allow_guests: true, Synapse's default)", async () => {
      const guest = await registerGuest(turn);
      const reply = await call(turn, "GET", "/_matrix/client/v3/voip/turnServer", { token: guest.accessToken });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.ok((reply.body["username"] as string).endsWith(`:${guest.userId}`));
    });

    it("refuses guests when turn_allow_guests is false, and serves the fixed credentials to users", async () => {
      const guest = await registerGuest(noGuests);
      // client-server-api#other-error-codes: M_GUEST_ACCESS_FORBIDDEN, "the resource does not permit guests".
      assertError(await call(noGuests, "GET", "/_matrix/client/v3/voip/turnServer", { token: guest.accessToken }), 403, "M_GUEST_ACCESS_FORBIDDEN");
      const bob = await registerUser(noGuests, "bob");
      const reply = await call(noGuests, "GET", "/_matrix/client/v3/voip/turnServer", { token: bob.accessToken });
      assert.deepEqual(reply.body, { username: "u", password: "p", uris: ["turn:turn.test.local"], ttl: 3600 });
    });

    it("needs an access token (voip.yaml security)", async () => {
      assertError(await call(turn, "GET", "/_matrix/client/v3/voip/turnServer"), 401, "M_MISSING_TOKEN");
      assertError(await call(turn, "GET", "/_matrix/client/v3/voip/turnServer", { token: "wft_bogus" }), 401, "M_UNKNOWN_TOKEN");
    });
  });
}
