#!/usr/bin/env bash
# The system test needs root (debootstrap, systemd-nspawn): as root it runs directly, otherwise through sudo.
set -euo pipefail
cd "$(dirname "$0")/../.."
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  echo "test:systemd: debootstrap and systemd-nspawn need root, asking sudo" >&2
  sudo="sudo -E"
fi
exec $sudo npx vitest run --config test/system/vitest.config.ts "$@"
