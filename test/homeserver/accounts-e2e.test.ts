/**
 * End to end with the real client SDK: a matrix-js-sdk client registers (through UIA), logs in with
 * refresh tokens, lists and renames its devices, refreshes its token and logs out.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient, MatrixError, type ICreateClientOpts } from "matrix-js-sdk";
import { engines } from "../storage/engines.ts";
import { ACCOUNTS_YAML } from "./api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "./harness.ts";

/** The SDK logs every request; these tests read its results instead. */
const quiet = (): NonNullable<ICreateClientOpts["logger"]> => {
  const none = () => undefined;
  return { trace: none, debug: none, info: none, warn: none, error: none, getChild: quiet };
};

for (const engine of engines) {
  describe(`matrix-js-sdk against Weft [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    it("registers, logs in, manages devices, refreshes its token and logs out", async () => {
      const anonymous = createClient({ baseUrl: hs.baseUrl, logger: quiet() });
      const registration = { username: "sdkuser", password: "Sdk-pass-1", initial_device_display_name: "SDK first device" };
      const challenge = await anonymous.registerRequest(registration).then(
        () => assert.fail("registration without auth must answer 401"),
        (error: unknown) => error,
      );
      assert.ok(challenge instanceof MatrixError);
      assert.equal(challenge.httpStatus, 401);
      const session = challenge.data["session"] as string;
      const registered = await anonymous.registerRequest({ ...registration, auth: { type: "m.login.dummy", session } });
      assert.equal(registered.user_id, "@sdkuser:test.local");

      const flows = await anonymous.loginFlows();
      assert.ok(flows.flows.some((f) => f.type === "m.login.password"));
      const loggedIn = await anonymous.loginRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "sdkuser" },
        password: "Sdk-pass-1",
        initial_device_display_name: "SDK laptop",
        refresh_token: true,
      });
      assert.equal(typeof loggedIn.refresh_token, "string");
      assert.equal(loggedIn.expires_in_ms, 300_000);

      const client = createClient({
        baseUrl: hs.baseUrl,
        logger: quiet(),
        userId: loggedIn.user_id,
        deviceId: loggedIn.device_id,
        accessToken: loggedIn.access_token,
      });
      assert.equal((await client.whoami()).user_id, "@sdkuser:test.local");
      const { devices } = await client.getDevices();
      assert.deepEqual(devices.map((d) => d.display_name).sort(), ["SDK first device", "SDK laptop"]);

      await client.setDeviceDetails(loggedIn.device_id, { display_name: "Renamed by the SDK" });
      const renamed = (await client.getDevices()).devices.find((d) => d.device_id === loggedIn.device_id);
      assert.equal(renamed?.display_name, "Renamed by the SDK");

      const refreshed = await client.refreshToken(loggedIn.refresh_token as string);
      assert.notEqual(refreshed.access_token, loggedIn.access_token);
      client.setAccessToken(refreshed.access_token);
      assert.equal((await client.whoami()).device_id, loggedIn.device_id);
      const capabilities = await client.getCapabilities();
      assert.equal(capabilities["m.change_password"]?.enabled, true);

      await client.logout(true);
      const afterLogout = await client.whoami().then(
        () => assert.fail("the token must be dead after logout"),
        (error: unknown) => error,
      );
      assert.ok(afterLogout instanceof MatrixError);
      assert.equal(afterLogout.errcode, "M_UNKNOWN_TOKEN");
    });
  });
}
