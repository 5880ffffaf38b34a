// mxc:// URIs (client-server-api#matrix-content-mxc-uris) and the media an event's content refers to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { mediaReferencesOf } from "../../../src/core/events/media-references.ts";
import { isValidMediaId, parseMxcUri } from "../../../src/core/identifiers/mxc.ts";

describe("parseMxcUri", () => {
  it("reads the server name and media ID, and nothing else", () => {
    assert.deepEqual(parseMxcUri("mxc://example.org/abc_DEF-123"), { serverName: "example.org", mediaId: "abc_DEF-123" });
    assert.deepEqual(parseMxcUri("mxc://[::1]:8448/x"), { serverName: "[::1]:8448", mediaId: "x" });
    for (const bad of ["https://example.org/abc", "mxc://example.org", "mxc://example.org/", "mxc://example.org/a/b", "mxc://bad host/abc", "mxc://example.org/a.b", "MXC://example.org/abc"]) {
      assert.equal(parseMxcUri(bad), undefined, bad);
    }
  });

  it("reads back every URI made of a valid server name and media ID (property)", () => {
    const mediaId = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
    const host = fc.domain();
    fc.assert(
      fc.property(host, mediaId, (serverName, id) => {
        assert.ok(isValidMediaId(id));
        assert.deepEqual(parseMxcUri(`mxc://${serverName}/${id}`), { serverName, mediaId: id });
      }),
    );
  });
});

describe("mediaReferencesOf", () => {
  it("finds an attachment, its thumbnail, and their encrypted forms, each once", () => {
    assert.deepEqual(
      mediaReferencesOf({
        msgtype: "m.image",
        url: "mxc://a.example/one",
        info: { thumbnail_url: "mxc://a.example/two", thumbnail_file: { url: "mxc://a.example/four" } },
        file: { url: "mxc://a.example/three" },
      }),
      ["mxc://a.example/one", "mxc://a.example/two", "mxc://a.example/three", "mxc://a.example/four"],
    );
    assert.deepEqual(mediaReferencesOf({ url: "mxc://a.example/one", file: { url: "mxc://a.example/one" } }), ["mxc://a.example/one"]);
  });

  it("leaves out what is not an mxc:// URI, or not where media are named", () => {
    assert.deepEqual(mediaReferencesOf({ url: "https://example.org/x.png", info: "not an object", body: "mxc://a.example/one" }), []);
    assert.deepEqual(mediaReferencesOf({ url: 5, file: { url: null } }), []);
  });
});
