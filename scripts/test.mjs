// Runs every test file under test/ with Node's own test runner (TypeScript through tsx).
// Usage: npm test [-- path-filter ...]   e.g. npm test -- test/core
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out;
}

const files = collect(join(root, "test"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files],
  // The servers the tests start check that storage transactions do not nest (storage/database.ts).
  { cwd: root, stdio: "inherit", env: { ...process.env, WEFT_CHECK_TRANSACTION_NESTING: "1" } },
);
process.exit(result.status ?? 1);
