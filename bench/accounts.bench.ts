// Issue 4: password logins per second (bound by the password hash: scrypt N=2^15, r=8, p=3), against
// the bare scrypt verifications per second of the same process; and GET /account/whoami (access-token
// authentication, served from the token cache) against GET /_matrix/client/versions in the same run.
import { PASSWORD_HASH_PARAMS, hashPassword, verifyPassword } from "../src/homeserver/users/password.ts";
import { startBenchHomeserver } from "./http-versions.bench.ts";
import { loadTest, printFigure } from "./lib.ts";

const YAML = [
  "enable_registration: true",
  "enable_registration_without_verification: true",
  "rc_registration: {per_second: 1000000, burst_count: 1000000}",
  "rc_login: {address: {per_second: 1000000, burst_count: 1000000}, account: {per_second: 1000000, burst_count: 1000000}, failed_attempts: {per_second: 1000000, burst_count: 1000000}}",
].join("\n");

/** scrypt verifications per second, `parallel` at a time (libuv's thread pool runs four by default). */
async function scryptVerificationsPerSecond(durationMs: number, parallel = 4): Promise<number> {
  const stored = await hashPassword("bench-password");
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (performance.now() - start < durationMs) {
        if (!(await verifyPassword("bench-password", stored))) throw new Error("did not verify");
        done++;
      }
    }),
  );
  return (done / (performance.now() - start)) * 1000;
}

export async function accountsBench(): Promise<void> {
  const hs = await startBenchHomeserver(YAML);
  try {
    const json = { "content-type": "application/json" };
    const registered = await fetch(`${hs.baseUrl}/_matrix/client/v3/register`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ username: "bench", password: "bench-password", auth: { type: "m.login.dummy" } }),
    });
    const { access_token: token } = (await registered.json()) as { access_token: string };
    if (registered.status !== 200) throw new Error(`registration answered ${registered.status}`);

    const loginBody = JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: "bench" }, password: "bench-password" });
    const logins = await loadTest(`${hs.baseUrl}/_matrix/client/v3/login`, { method: "POST", headers: json, body: loginBody, connections: 8, durationSeconds: 10 });
    if (logins.non2xx > 0 || logins.errors > 0) throw new Error(`login answered ${logins.non2xx} non-2xx, ${logins.errors} errors`);
    const scrypt = await scryptVerificationsPerSecond(5000);
    const { N, r, p } = PASSWORD_HASH_PARAMS;
    printFigure({
      name: `POST /login (m.login.password, scrypt N=2^${Math.log2(N)} r=${r} p=${p})`,
      value: logins.requestsPerSecond,
      unit: "req/s",
      better: "higher",
      baseline: { name: "bare scrypt verifications, 4 at a time", value: scrypt },
    });
    console.log(`  login latency p50/p99: ${logins.latencyP50Ms}/${logins.latencyP99Ms} ms`);

    const whoami = await loadTest(`${hs.baseUrl}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${token}` } });
    if (whoami.non2xx > 0 || whoami.errors > 0) throw new Error(`whoami answered ${whoami.non2xx} non-2xx, ${whoami.errors} errors`);
    const versions = await loadTest(`${hs.baseUrl}/_matrix/client/versions`);
    printFigure({
      name: "GET /account/whoami (access token)",
      value: whoami.requestsPerSecond,
      unit: "req/s",
      better: "higher",
      baseline: { name: "GET /_matrix/client/versions, same server", value: versions.requestsPerSecond },
    });
    console.log(`  latency p50/p99: whoami ${whoami.latencyP50Ms}/${whoami.latencyP99Ms} ms, versions ${versions.latencyP50Ms}/${versions.latencyP99Ms} ms`);
  } finally {
    await hs.stop();
  }
}
