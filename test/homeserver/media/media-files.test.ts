import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeFileDurably } from "../../../src/homeserver/media/media-files.ts";
import { localMediaPath } from "../../../src/homeserver/media/media-rules.ts";

describe("writeFileDurably", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "weft-media-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("makes the folders, writes the bytes and leaves no temporary file", async () => {
    // The file is written, synced and renamed into place before the media's row is written.
    const path = localMediaPath(root, "abcdefghij");
    await writeFileDurably(root, path, Buffer.from("bytes"));
    assert.equal(await readFile(path, "utf8"), "bytes");
    assert.deepEqual(await readdir(join(root, "local_content", "ab", "cd")), ["efghij"]);
  });

  it("replaces a file left by an upload that never got its row", async () => {
    const path = localMediaPath(root, "zzzzzzzz");
    await writeFileDurably(root, path, Buffer.from("orphan"));
    await writeFileDurably(root, path, Buffer.from("the real one"));
    assert.equal(await readFile(path, "utf8"), "the real one");
    assert.deepEqual(await readdir(join(root, "local_content", "zz", "zz")), ["zzzz"]);
  });
});
