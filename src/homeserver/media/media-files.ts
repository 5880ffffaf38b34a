// Media files on disk, written so that nothing accepted is lost when the process is killed: the
// bytes go to a temporary file beside the final one, are synced, renamed into place, and the
// folders the rename changed are synced too, before the caller's row says the media exists. Files
// are removed only after their row is gone (media_retention).
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import type { Logger } from "pino";

/** Writes `bytes` at `path` durably (see above); the folders between `root` and it are made and synced. */
export async function writeFileDurably(root: string, path: string, bytes: Buffer): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    const file = await open(temp, "wx", 0o600);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // The new name, and any folder just made, are in their parents' entries: sync each up to the root.
  const base = resolve(root);
  for (let d = dir; d.startsWith(base + sep) || d === base; d = dirname(d)) {
    await syncDirectory(d);
    if (d === base) break;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A media file opened to be streamed, with its size; undefined when it cannot be opened (missing).
 * The stream closes the file at its end.
 */
export async function openMediaFile(path: string): Promise<{ readonly stream: Readable; readonly size: number } | undefined> {
  const handle = await open(path, "r").catch(() => undefined);
  if (handle === undefined) return undefined;
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (error) {
    await handle.close();
    throw error;
  }
  return { stream: handle.createReadStream(), size };
}

/**
 * Removes a media file, or a folder of them (cached thumbnails), once no row names it: a download
 * that opened the file keeps reading it (POSIX unlink). Already gone is fine; another failure is
 * logged and the file left behind (only space: nothing points at it).
 */
export async function removeMediaFiles(path: string, log: Logger): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    log.warn({ err: error, path }, "removing a purged media file failed");
  }
}
