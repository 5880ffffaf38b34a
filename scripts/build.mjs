// `npm run build`: compiles src/ into dist/ (tsconfig.build.json, incremental), then stamps dist/ with
// the time the build started. bin/weft.mjs runs dist/ only while no source is newer than the stamp
// (tsc leaves its own files untouched when nothing changed, so their times cannot tell).
import { spawnSync } from "node:child_process";
import { closeSync, openSync, utimesSync } from "node:fs";
import { createRequire } from "node:module";

const root = new URL("..", import.meta.url).pathname;
const started = new Date();
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);
const stamp = `${root}dist/.build-stamp`;
closeSync(openSync(stamp, "a"));
utimesSync(stamp, started, started);
