import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConfigError, parseConfigText } from "../../../../src/config/index.ts";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call } from "./helpers.ts";

const parse = (yaml: string) => parseConfigText(`server_name: example.org\n${yaml}`, "/tmp/weft-support-test/homeserver.yaml");

describe("support config keys", () => {
  it("are unset by default", () => {
    assert.equal(parse("").config.serverSupport, undefined);
    // support.yaml: an empty `contacts` alone is not an answer, so it counts as unset.
    assert.equal(parse("support_contacts: []").config.serverSupport, undefined);
  });

  it("read the contacts and the page", () => {
    const { config, warnings } = parse(
      [
        "support_contacts:",
        "  - {matrix_id: '@admin:example.org', email_address: admin@example.org, role: m.role.admin}",
        "  - {email_address: security@example.org, role: m.role.security}",
        "  - {matrix_id: '@mod:elsewhere.example', role: org.example.moderator}",
        "support_page: https://example.org/support.html",
      ].join("\n"),
    );
    assert.deepEqual(config.serverSupport, {
      contacts: [
        { matrixId: "@admin:example.org", emailAddress: "admin@example.org", role: "m.role.admin" },
        { emailAddress: "security@example.org", role: "m.role.security" },
        { matrixId: "@mod:elsewhere.example", role: "org.example.moderator" },
      ],
      page: "https://example.org/support.html",
    });
    assert.deepEqual(warnings, []);
  });

  it("refuse contacts and pages the spec's schema does not allow, naming the key", () => {
    const cases: ReadonlyArray<[string, string]> = [
      // support.yaml Contact: `role` is required.
      ["support_contacts: [{email_address: a@example.org}]", "support_contacts[0].role"],
      // support.yaml Contact: m.role.admin, m.role.security, or a namespaced identifier (m. is reserved).
      ["support_contacts: [{email_address: a@example.org, role: m.role.owner}]", "support_contacts[0].role"],
      ["support_contacts: [{email_address: a@example.org, role: 'Big Boss'}]", "support_contacts[0].role"],
      // support.yaml Contact: at least one of `matrix_id` or `email_address`.
      ["support_contacts: [{role: m.role.admin}]", "support_contacts[0].matrix_id"],
      // support.yaml Contact: `matrix_id` is a user ID (format mx-user-id), `email_address` an email.
      ["support_contacts: [{matrix_id: admin, role: m.role.admin}]", "support_contacts[0].matrix_id"],
      ["support_contacts: [{email_address: nobody, role: m.role.admin}]", "support_contacts[0].email_address"],
      ["support_contacts: [{email_address: a@example.org, role: m.role.admin}, 5]", "support_contacts[1]"],
      ["support_contacts: {email_address: a@example.org, role: m.role.admin}", "support_contacts"],
      // support.yaml: `support_page` is a URI (format uri); an http(s) page here.
      ["support_page: not a url", "support_page"],
      ["support_page: 'ftp://example.org/help'", "support_page"],
    ];
    for (const [yaml, keyPath] of cases) {
      assert.throws(() => parse(yaml), (err: unknown) => err instanceof ConfigError && err.keyPath === keyPath, yaml);
    }
  });

  it("warn of unknown keys in a contact", () => {
    const { warnings } = parse("support_contacts: [{email_address: a@example.org, role: m.role.admin, phone: '123'}]");
    assert.ok(warnings.some((w) => w.includes("support_contacts[0].phone")), warnings.join("\n"));
  });
});

for (const engine of engines) {
  describe(`GET /.well-known/matrix/support [${engine}]`, () => {
    let none: TestHomeserver;
    let full: TestHomeserver;
    let pageOnly: TestHomeserver;
    before(async () => {
      none = await startTestHomeserver(engine);
      full = await startTestHomeserver(engine, {
        yaml: [
          "support_contacts:",
          "  - {matrix_id: '@admin:test.local', email_address: admin@test.local, role: m.role.admin}",
          "  - {email_address: security@test.local, role: m.role.security}",
          "support_page: https://test.local/support.html",
        ].join("\n"),
      });
      pageOnly = await startTestHomeserver(engine, { yaml: "support_page: https://test.local/help" });
    });
    after(async () => {
      await Promise.all([none.stop(), full.stop(), pageOnly.stop()]);
    });

    it("is a 404 when neither support_contacts nor support_page is set (support.yaml 404)", async () => {
      assertError(await call(none, "GET", "/.well-known/matrix/support"), 404, "M_NOT_FOUND");
    });

    it("serves the contacts and the page, without authentication", async () => {
      const reply = await call(full, "GET", "/.well-known/matrix/support");
      assert.equal(reply.status, 200);
      // support.yaml: `contacts` (matrix_id, email_address, role) and `support_page`.
      assert.deepEqual(reply.body, {
        contacts: [
          { matrix_id: "@admin:test.local", email_address: "admin@test.local", role: "m.role.admin" },
          { email_address: "security@test.local", role: "m.role.security" },
        ],
        support_page: "https://test.local/support.html",
      });
    });

    it("leaves out `contacts` when there is only a page (support.yaml: if only contacts is set it must not be empty)", async () => {
      const reply = await call(pageOnly, "GET", "/.well-known/matrix/support");
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, { support_page: "https://test.local/help" });
    });

    it("can be read from a web client on another origin (client-server-api#web-browser-clients)", async () => {
      const res = await fetch(`${full.baseUrl}/.well-known/matrix/support`, { headers: { origin: "https://app.example" } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
    });
  });
}
