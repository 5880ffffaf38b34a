// The url_preview_* keys, max_spider_size and url_preview_accept_language, in Synapse's shapes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfigText } from "../../../../src/config/index.ts";

const parse = (yaml: string) => parseConfigText(`server_name: example.org\n${yaml}`, "/tmp/weft-url-preview-test/homeserver.yaml");

function assertConfigError(yaml: string, key: string): void {
  assert.throws(() => parse(yaml), (err: unknown) => err instanceof ConfigError && err.message.includes(key), `expected an error naming ${key}`);
}

describe("url preview config", () => {
  it("is off by default, with Synapse's defaults", () => {
    const { config, warnings } = parse("");
    assert.deepEqual(config.urlPreview, {
      enabled: false,
      ipRangeBlocklist: ["0.0.0.0/32", "::/128"],
      ipRangeAllowlist: [],
      urlBlocklist: [],
      maxSpiderSize: 10 * 1024 * 1024,
      acceptLanguage: ["en"],
    });
    assert.deepEqual(warnings, []);
  });

  it("refuses to enable previews without url_preview_ip_range_blacklist, as Synapse", () => {
    assertConfigError("url_preview_enabled: true", "url_preview_ip_range_blacklist");
    assertConfigError("url_preview_enabled: true\nurl_preview_ip_range_blacklist:", "url_preview_ip_range_blacklist");
  });

  it("reads every key", () => {
    const { config, warnings } = parse(`
url_preview_enabled: true
url_preview_ip_range_blacklist: ['127.0.0.0/8', '10.0.0.0/8', '::1']
url_preview_ip_range_whitelist: ['127.0.0.1']
url_preview_url_blacklist:
  - username: '*'
  - netloc: 'google.com'
    path: '^/secret'
  - port: 8080
max_spider_size: 1M
url_preview_accept_language: ['en-UK', 'en-US;q=0.9', 'fr;q=0.8']
`);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.urlPreview, {
      enabled: true,
      ipRangeBlocklist: ["127.0.0.0/8", "10.0.0.0/8", "::1/128", "0.0.0.0/32", "::/128"],
      ipRangeAllowlist: ["127.0.0.1/32"],
      urlBlocklist: [{ username: "*" }, { netloc: "google.com", path: "^/secret" }, { port: "8080" }],
      maxSpiderSize: 1024 * 1024,
      acceptLanguage: ["en-UK", "en-US;q=0.9", "fr;q=0.8"],
    });
  });

  it("names the bad key", () => {
    assertConfigError("url_preview_ip_range_blacklist: ['not-an-ip']", "url_preview_ip_range_blacklist[0]");
    assertConfigError("url_preview_ip_range_whitelist: 127.0.0.1", "url_preview_ip_range_whitelist");
    assertConfigError("max_spider_size: lots", "max_spider_size");
    assertConfigError("max_spider_size: 0", "max_spider_size");
    assertConfigError("url_preview_url_blacklist: ['google.com']", "url_preview_url_blacklist[0]");
    assertConfigError("url_preview_url_blacklist: [{host: 'x'}]", "url_preview_url_blacklist[0].host");
    assertConfigError("url_preview_url_blacklist: [{path: '^(unclosed'}]", "url_preview_url_blacklist[0].path");
    assertConfigError("url_preview_accept_language: [1]", "url_preview_accept_language[0]");
    assertConfigError("url_preview_enabled: yes please", "url_preview_enabled");
  });
});
