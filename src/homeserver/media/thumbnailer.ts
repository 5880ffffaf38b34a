// Thumbnails made with sharp (libvips) (client-server-api#thumbnails): crop or scale, never
// upscaled, animated only when asked and the source is.
import type { Metadata, Sharp, SharpOptions } from "sharp";
import { MatrixError } from "../../core/errors.ts";
import { mediaTypeEssence, type ThumbnailSize } from "./media-rules.ts";

/**
 * The image types thumbnails are made of. SVG is left out: rendering it runs a parser over markup
 * a user sent (content-repo-security-considerations: malicious files targeting the thumbnailer).
 */
const THUMBNAILABLE: ReadonlySet<string> = new Set([
  "image/jpeg",
  "image/jpg",
  "image/png",
  "image/apng",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/tiff",
]);

/** Types a thumbnail request may be answered with as they are (authed-content-repo.yaml thumbnail Content-Type). */
const SERVABLE_AS_THUMBNAIL: ReadonlySet<string> = new Set(["image/jpeg", "image/png", "image/apng", "image/gif", "image/webp"]);

export interface ImageInfo {
  readonly width: number;
  readonly height: number;
  /** More than one frame (an animated GIF, WebP or APNG). */
  readonly animated: boolean;
}

export interface Thumbnail {
  readonly bytes: Buffer;
  readonly contentType: string;
}

export function canThumbnail(contentType: string): boolean {
  return THUMBNAILABLE.has(mediaTypeEssence(contentType));
}

/** Whether an image can be answered as its own thumbnail: a type the spec allows, animated only when asked. */
export function servableAsThumbnail(contentType: string, info: ImageInfo, animated: boolean): boolean {
  return SERVABLE_AS_THUMBNAIL.has(mediaTypeEssence(contentType)) && (animated || !info.animated);
}

type SharpFactory = (input: Buffer, options: SharpOptions) => Sharp;

// sharp (libvips) loaded at the first thumbnail, not at start: it adds about 20 MB to a process
// that may never make one.
let loadedSharp: Promise<SharpFactory> | undefined;
function loadSharp(): Promise<SharpFactory> {
  loadedSharp ??= import("sharp").then((m) => m.default as SharpFactory);
  return loadedSharp;
}

function cannotThumbnail(): MatrixError {
  // authed-content-repo.yaml thumbnail 400: the server cannot thumbnail the content.
  return new MatrixError("M_UNKNOWN", "Cannot generate thumbnails for the requested content", 400);
}

export class Thumbnailer {
  /** The most pixels an image may have to be thumbnailed (Synapse's `max_image_pixels`: 32M). */
  readonly #maxPixels: number;

  constructor(options: { maxPixels?: number } = {}) {
    this.#maxPixels = options.maxPixels ?? 32_000_000;
  }

  /** The dimensions of an image; 413 M_TOO_LARGE past the pixel limit, 400 when it cannot be read. */
  async info(bytes: Buffer): Promise<ImageInfo> {
    let meta: Metadata;
    try {
      meta = await (await loadSharp())(bytes, { limitInputPixels: false }).metadata();
    } catch {
      throw cannotThumbnail();
    }
    const width = meta.width;
    const height = meta.height;
    if (!(width > 0 && height > 0)) throw cannotThumbnail();
    // content-repo-security-considerations: no thumbnails of images too large, 413 M_TOO_LARGE.
    if (width * height > this.#maxPixels) throw new MatrixError("M_TOO_LARGE", "Content is too large to thumbnail", 413);
    // sharp reports the height of one frame (pageHeight) for multi-frame images.
    const frameHeight = meta.pageHeight ?? height;
    return { width, height: frameHeight, animated: (meta.pages ?? 1) > 1 };
  }

  /**
   * A thumbnail of `size`. Scale fits the image inside the size keeping its aspect ratio; crop covers
   * the size and cuts the middle. Neither upscales (client-server-api#thumbnails: MUST NOT upscale):
   * a dimension larger than the image is cut to the image's. JPEG stays JPEG, anything else becomes
   * PNG (it may have transparency), or WebP when animated (SHOULD prefer image/webp for animation).
   */
  async make(bytes: Buffer, sourceType: string, info: ImageInfo, size: ThumbnailSize, animated: boolean): Promise<Thumbnail> {
    const animate = animated && info.animated;
    const sharp = await loadSharp();
    try {
      let image = sharp(bytes, { animated: animate, limitInputPixels: this.#maxPixels }).rotate();
      if (size.method === "scale") {
        image = image.resize({ width: size.width, height: size.height, fit: "inside", withoutEnlargement: true });
      } else {
        const factor = Math.max(size.width / info.width, size.height / info.height);
        if (factor <= 1) {
          image = image.resize({ width: size.width, height: size.height, fit: "cover", position: "centre" });
        } else {
          // Covering the size would upscale: cut the middle at the size's aspect ratio, within the image.
          const width = Math.min(info.width, size.width);
          const height = Math.min(info.height, size.height);
          image = image.resize({ width, height, fit: "cover", position: "centre", withoutEnlargement: true });
        }
      }
      if (animate) return { bytes: await image.webp({ quality: 80 }).toBuffer(), contentType: "image/webp" };
      const type = mediaTypeEssence(sourceType);
      if (type === "image/jpeg" || type === "image/jpg") return { bytes: await image.jpeg({ quality: 80 }).toBuffer(), contentType: "image/jpeg" };
      return { bytes: await image.png().toBuffer(), contentType: "image/png" };
    } catch (error) {
      if (error instanceof MatrixError) throw error;
      throw cannotThumbnail();
    }
  }

  /** The image re-encoded at its own size: a still frame, or a type a thumbnail may have. */
  async convert(bytes: Buffer, sourceType: string, info: ImageInfo, animated: boolean): Promise<Thumbnail> {
    return this.make(bytes, sourceType, info, { width: info.width, height: info.height, method: "scale" }, animated);
  }
}
