/**
 * No password, password hash or token reaches a log line: a whole homeserver logs at trace level
 * (storage transactions included) into memory while accounts are made, logged into, refreshed,
 * changed and deactivated, with failures along the way; then every line is searched.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import pino from "pino";
import { parseConfigText, type HomeserverConfig } from "../../src/config/index.ts";
import { startHomeserver } from "../../src/homeserver/server.ts";
import { createTestStorage, engines } from "../storage/engines.ts";
import { ACCOUNTS_YAML, call, login, passwordAuth, registerUser, withPasswordUia } from "./api/client/helpers.ts";
import type { TestHomeserver } from "./harness.ts";

for (const engine of engines) {
  describe(`account secrets in logs [${engine}]`, () => {
    it("never logs a password, a password hash or a token", async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
          done();
        },
      });
      const dataDir = await mkdtemp(join(tmpdir(), "weft-log-"));
      const storage = await createTestStorage(engine);
      const yaml = `server_name: test.local\nlisteners: [{port: 1, bind_addresses: ['127.0.0.1'], type: http, resources: [{names: [client]}]}]\n${ACCOUNTS_YAML}`;
      const { config: parsed } = parseConfigText(yaml, join(dataDir, "homeserver.yaml"));
      const config: HomeserverConfig = {
        ...parsed,
        listeners: parsed.listeners.map((l) => ({ ...l, port: 0 })),
        database: storage.config as HomeserverConfig["database"],
      };
      const server = await startHomeserver(config, pino({ level: "trace" }, sink));
      const hs = { baseUrl: `http://127.0.0.1:${server.addresses[0]?.port}`, server } as TestHomeserver;
      const secrets: string[] = [];
      try {
        const alice = await registerUser(hs, "alice");
        secrets.push(alice.password, alice.accessToken);
        await login(hs, "alice", "a-wrong-password-guess");
        const session = (await login(hs, "alice", alice.password, { refresh_token: true })).body;
        secrets.push("a-wrong-password-guess", session["access_token"] as string, session["refresh_token"] as string);
        const refreshed = (await call(hs, "POST", "/_matrix/client/v3/refresh", { body: { refresh_token: session["refresh_token"] } })).body;
        secrets.push(refreshed["access_token"] as string, refreshed["refresh_token"] as string);
        // The deprecated query-string token: the URL is logged without its query.
        await fetch(`${hs.baseUrl}/_matrix/client/v3/account/whoami?access_token=${encodeURIComponent(alice.accessToken)}`);
        const loginToken = (await withPasswordUia(hs, "POST", "/_matrix/client/v1/login/get_token", alice)).body["login_token"] as string;
        secrets.push(loginToken);
        await call(hs, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.token", token: loginToken } });
        const first = await call(hs, "POST", "/_matrix/client/v3/account/password", { token: alice.accessToken, body: { new_password: "The-new-secret-9" } });
        secrets.push("The-new-secret-9");
        await call(hs, "POST", "/_matrix/client/v3/account/password", {
          token: alice.accessToken,
          body: { new_password: "The-new-secret-9", auth: passwordAuth(alice, first.body["session"] as string) },
        });
        await withPasswordUia(hs, "POST", "/_matrix/client/v3/account/deactivate", { ...alice, password: "The-new-secret-9" });
      } finally {
        await server.close();
        await storage.drop();
        await rm(dataDir, { recursive: true, force: true });
      }

      assert.ok(lines.length > 20, "the server did log");
      assert.ok(lines.some((l) => l.includes("/_matrix/client/v3/login")), "requests were logged");
      for (const line of lines) {
        assert.ok(!line.includes("scrypt$"), `a password hash was logged: ${line}`);
        for (const secret of secrets) assert.ok(!line.includes(secret), `a secret was logged: ${line}`);
      }
    });
  });
}
