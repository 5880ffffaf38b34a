// url_preview_url_blacklist matching, as Synapse: every part of one entry must match.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { globToRegExp, UrlBlocklist } from "../../../../src/homeserver/media/url-preview/url-blocklist.ts";

describe("UrlBlocklist", () => {
  const blocklist = new UrlBlocklist([
    { username: "*" },
    { netloc: "google.com" },
    { netloc: "*.google.com" },
    { netloc: "www.acme.com", path: "/foo" },
    { netloc: "^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$" },
    { scheme: "http", port: "8080" },
  ]);
  const blocked = (url: string): boolean => blocklist.isBlocked(new URL(url));

  it("blocks a URL matching every part of an entry", () => {
    assert.equal(blocked("https://user@example.org/"), true);
    assert.equal(blocked("https://google.com/search"), true);
    assert.equal(blocked("https://mail.google.com/"), true);
    assert.equal(blocked("https://www.acme.com/foo"), true);
    assert.equal(blocked("https://1.2.3.4/"), true);
    assert.equal(blocked("http://example.org:8080/"), true);
  });

  it("lets through a URL that matches only some parts, or none", () => {
    assert.equal(blocked("https://www.acme.com/bar"), false);
    assert.equal(blocked("https://notgoogle.com/"), false);
    assert.equal(blocked("https://example.org/"), false);
    assert.equal(blocked("https://example.org:8080/"), false);
    // No port given: urlsplit's port is None, which matches no pattern.
    assert.equal(blocked("http://example.org/"), false);
  });

  it("matches globs on the whole value and regular expressions from the start", () => {
    assert.equal(globToRegExp("*.example.org").test("a.example.org"), true);
    assert.equal(globToRegExp("*.example.org").test("a.example.org.evil"), false);
    assert.equal(globToRegExp("file?.[ch]").test("file1.c"), true);
    assert.equal(globToRegExp("[!a]x").test("ax"), false);
    assert.equal(globToRegExp("[!a]x").test("bx"), true);
    assert.equal(new UrlBlocklist([{ path: "^/private" }]).isBlocked(new URL("https://e.org/private/x")), true);
    assert.equal(new UrlBlocklist([{ path: "^/private" }]).isBlocked(new URL("https://e.org/x/private")), false);
  });
});
