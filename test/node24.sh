#!/usr/bin/env bash
# Runs the test suite (already built and type-checked by `npm test`) again on Node 24, the
# current LTS, next to the system's Node 20 (test/node24-bin.sh provides it): it is first on PATH
# for this run only, never for the rest of the system. Extra arguments go to vitest (e.g. one test
# file).
set -euo pipefail
cd "$(dirname "$0")/.."
node24="$(bash test/node24-bin.sh)"
echo "node24: $("$node24" -v) ($node24)"
PATH="$(dirname "$node24"):$PATH" exec "$node24" node_modules/vitest/vitest.mjs run --config test/vitest.config.ts "$@"
