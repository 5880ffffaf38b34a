import assert from "node:assert/strict";
import { resolve, sep } from "node:path";
import { describe, it } from "node:test";
import {
  chooseThumbnailSize,
  contentDisposition,
  dispositionFileName,
  isValidMediaId,
  localMediaPath,
  localThumbnailDir,
  localThumbnailPath,
  mediaTypeEssence,
  uploadContentType,
} from "../../../src/homeserver/media/media-rules.ts";

describe("media paths", () => {
  const root = "/srv/media";

  it("shards a media ID under local_content", () => {
    // Two levels of two characters, the rest as the file name.
    assert.equal(localMediaPath(root, "abcdefGHIJ_-"), resolve("/srv/media/local_content/ab/cd/efGHIJ_-"));
  });

  it("refuses any media ID outside the spec's alphabet", () => {
    // content-repo-security-considerations: only A-Za-z0-9, _ and - in the media-id segment.
    for (const id of ["../../etc/passwd", "..", "abc/def", "abc\\def", "a%2e%2e/x", "abcd.e", "", "a\u0000bcde", "ab cd", "é2345", "abcd"]) {
      assert.throws(() => localMediaPath(root, id), /invalid media ID/, id);
    }
    assert.equal(isValidMediaId("../x"), false);
    assert.equal(isValidMediaId("AQwafuaFswefuhsfAFAgsw"), true);
  });

  it("never names a path outside the root for any valid ID", () => {
    for (const id of ["-----", "_____", "--..x".replace(/\./g, "-"), "a".repeat(255)]) {
      assert.ok(localMediaPath(root, id).startsWith(resolve(root) + sep));
    }
  });

  it("keeps thumbnails apart from the media, by size, method and type", () => {
    const path = localThumbnailPath(root, "abcdefgh", { width: 96, height: 96, method: "crop" }, "image/png");
    assert.equal(path, resolve("/srv/media/local_thumbnails/ab/cd/efgh/96x96-crop-image_png"));
    // All of a media's thumbnails in one folder, removed with it (media_retention).
    assert.equal(localThumbnailDir(root, "abcdefgh"), resolve("/srv/media/local_thumbnails/ab/cd/efgh"));
  });
});

describe("Content-Type and Content-Disposition", () => {
  it("defaults the upload type to application/octet-stream", () => {
    // content-repo.yaml contentType: defaults to application/octet-stream when not set.
    assert.equal(uploadContentType(undefined), "application/octet-stream");
    assert.equal(uploadContentType(""), "application/octet-stream");
    assert.equal(uploadContentType("image/png"), "image/png");
    assert.equal(uploadContentType("text/plain; charset=utf-8"), "text/plain; charset=utf-8");
    // downloadContentType: application/octet-stream when the type is obviously wrong.
    assert.equal(uploadContentType("not a type"), "application/octet-stream");
    assert.equal(mediaTypeEssence("Text/Plain; charset=utf-8"), "text/plain");
  });

  it("is inline only for the safe types", () => {
    // client-server-api#serving-inline-content: inline only for the listed types, attachment otherwise.
    assert.equal(contentDisposition("image/png", "a.png"), 'inline; filename="a.png"');
    assert.equal(contentDisposition("IMAGE/JPEG", undefined), "inline");
    assert.equal(contentDisposition("text/plain; charset=utf-8", "t.txt"), 'inline; filename="t.txt"');
    assert.equal(contentDisposition("text/html", "x.html"), 'attachment; filename="x.html"');
    assert.equal(contentDisposition("image/svg+xml", "x.svg"), 'attachment; filename="x.svg"');
    assert.equal(contentDisposition("application/javascript", undefined), "attachment");
    assert.equal(contentDisposition("application/octet-stream", "f"), 'attachment; filename="f"');
  });

  it("encodes file names that a quoted string cannot carry", () => {
    // RFC 6266 / RFC 8187: non-ASCII, quotes and backslashes go as filename*.
    assert.equal(dispositionFileName("War and Peace.pdf"), 'filename="War and Peace.pdf"');
    assert.equal(dispositionFileName("café.png"), "filename*=utf-8''caf%C3%A9.png");
    assert.equal(dispositionFileName('a"b'), "filename*=utf-8''a%22b");
    assert.equal(dispositionFileName("a\r\nb"), "filename*=utf-8''a%0D%0Ab");
  });
});

describe("thumbnail size choice", () => {
  const big = { width: 4000, height: 3000 };

  it("takes the smallest standard size at least as large as asked", () => {
    // client-server-api#thumbnails: the dimensions asked are the minimum; standard sizes 32x32 crop ... 800x600 scale.
    assert.deepEqual(chooseThumbnailSize({ width: 24, height: 24, method: "crop" }, big), { kind: "thumbnail", size: { width: 32, height: 32, method: "crop" }, standard: true });
    assert.deepEqual(chooseThumbnailSize({ width: 64, height: 40, method: "crop" }, big), { kind: "thumbnail", size: { width: 96, height: 96, method: "crop" }, standard: true });
    assert.deepEqual(chooseThumbnailSize({ width: 320, height: 240, method: "scale" }, big), { kind: "thumbnail", size: { width: 320, height: 240, method: "scale" }, standard: true });
    assert.deepEqual(chooseThumbnailSize({ width: 321, height: 10, method: "scale" }, big), { kind: "thumbnail", size: { width: 640, height: 480, method: "scale" }, standard: true });
  });

  it("never answers smaller than asked: a size past the standard ones is made as asked", () => {
    // client-server-api#thumbnails: MUST NOT return a smaller thumbnail than requested.
    assert.deepEqual(chooseThumbnailSize({ width: 1000, height: 900, method: "scale" }, big), { kind: "thumbnail", size: { width: 1000, height: 900, method: "scale" }, standard: false });
    assert.deepEqual(chooseThumbnailSize({ width: 200, height: 200, method: "crop" }, big), { kind: "thumbnail", size: { width: 200, height: 200, method: "crop" }, standard: false });
  });

  it("answers the original when it is no larger than asked, never upscaling", () => {
    // client-server-api#thumbnails: content smaller than the dimensions asked is returned as it is; MUST NOT upscale.
    assert.deepEqual(chooseThumbnailSize({ width: 64, height: 64, method: "crop" }, { width: 50, height: 60 }), { kind: "original" });
    // The standard size chosen (320x240) would hold all of a 300x200 image.
    assert.deepEqual(chooseThumbnailSize({ width: 100, height: 100, method: "scale" }, { width: 300, height: 200 }), { kind: "original" });
  });
});
