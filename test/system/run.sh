#!/usr/bin/env bash
# The system test, on the system's Node and again on Node 24 (test/node24-bin.sh; on Node 22.15+
# the daemon re-executes itself with its memory settings, which this proves under systemd's
# Type=notify, watchdog and seccomp filter). It needs root (debootstrap, systemd-nspawn): as root it
# runs directly, otherwise through sudo. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/../.."
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  echo "test:systemd: debootstrap and systemd-nspawn need root, asking sudo" >&2
  sudo="sudo -E"
fi
node24="$(bash test/node24-bin.sh)"
echo "test:systemd: on $(node -v)"
$sudo node node_modules/vitest/vitest.mjs run --config test/system/vitest.config.ts "$@"
echo "test:systemd: on $("$node24" -v) ($node24)"
$sudo env PATH="$(dirname "$node24"):$PATH" "$node24" node_modules/vitest/vitest.mjs run --config test/system/vitest.config.ts "$@"
