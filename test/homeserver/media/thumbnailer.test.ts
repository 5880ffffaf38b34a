import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import { MatrixError } from "../../../src/core/errors.ts";
import { canThumbnail, servableAsThumbnail, Thumbnailer } from "../../../src/homeserver/media/thumbnailer.ts";

const png = (width: number, height: number): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer();

describe("Thumbnailer", () => {
  it("refuses images past the pixel limit with 413 M_TOO_LARGE", async () => {
    // content-repo-security-considerations: no thumbnails of images too large, 413 M_TOO_LARGE.
    const thumbnailer = new Thumbnailer({ maxPixels: 100 * 100 });
    await assert.rejects(thumbnailer.info(await png(101, 100)), (e: unknown) => e instanceof MatrixError && e.status === 413 && e.errcode === "M_TOO_LARGE");
    assert.deepEqual(await thumbnailer.info(await png(100, 100)), { width: 100, height: 100, animated: false });
  });

  it("answers 400 for bytes that are no image", async () => {
    // authed-content-repo.yaml thumbnail 400: the server cannot thumbnail the content.
    await assert.rejects(new Thumbnailer().info(Buffer.from("<svg/> or not")), (e: unknown) => e instanceof MatrixError && e.status === 400);
  });

  it("scales inside the size and crops to it, never upscaling", async () => {
    // client-server-api#thumbnails: scale keeps the aspect ratio, crop gives the size's; MUST NOT upscale.
    const thumbnailer = new Thumbnailer();
    const source = await png(400, 100);
    const info = await thumbnailer.info(source);
    const scaled = await thumbnailer.make(source, "image/png", info, { width: 320, height: 240, method: "scale" }, false);
    assert.equal(scaled.contentType, "image/png");
    const s = await sharp(scaled.bytes).metadata();
    assert.deepEqual([s.width, s.height], [320, 80]);
    const cropped = await thumbnailer.make(source, "image/png", info, { width: 96, height: 96, method: "crop" }, false);
    const c = await sharp(cropped.bytes).metadata();
    assert.deepEqual([c.width, c.height], [96, 96]);
    const noUpscale = await thumbnailer.make(source, "image/png", info, { width: 200, height: 200, method: "crop" }, false);
    const n = await sharp(noUpscale.bytes).metadata();
    assert.deepEqual([n.width, n.height], [200, 100]);
  });

  it("knows which types it makes thumbnails of, and which may be served as they are", () => {
    assert.equal(canThumbnail("image/png"), true);
    assert.equal(canThumbnail("IMAGE/JPEG; q=1"), true);
    // SVG is markup a user sent: not rendered (content-repo-security-considerations).
    assert.equal(canThumbnail("image/svg+xml"), false);
    assert.equal(canThumbnail("application/pdf"), false);
    // authed-content-repo.yaml thumbnail Content-Type: image/jpeg, png, apng, gif or webp; animated only when asked.
    assert.equal(servableAsThumbnail("image/gif", { width: 1, height: 1, animated: true }, false), false);
    assert.equal(servableAsThumbnail("image/gif", { width: 1, height: 1, animated: true }, true), true);
    assert.equal(servableAsThumbnail("image/tiff", { width: 1, height: 1, animated: false }, false), false);
  });
});
