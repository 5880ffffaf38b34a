#!/usr/bin/env node
// The `weft` command. It runs the compiled build in dist/ (`npm run build`; `npm start` builds first)
// when that build is newer than every source file; otherwise the TypeScript sources through tsx's
// loader, so that an edited checkout never runs stale code. A compiled server carries no TypeScript
// compiler in its memory (tens of MB less resident) and starts faster.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
const stamp = fileURLToPath(new URL("dist/.build-stamp", root));
const compiledMain = new URL("dist/cli/main.js", root);

/** The newest modification time of the files under `dir`. */
function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function compiledIsCurrent() {
  if (process.env.WEFT_FROM_SOURCE === "1" || !existsSync(stamp) || !existsSync(compiledMain)) return false;
  return statSync(stamp).mtimeMs >= newestMtimeMs(fileURLToPath(new URL("src", root)));
}

let main;
if (compiledIsCurrent()) {
  ({ main } = await import(compiledMain.href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
