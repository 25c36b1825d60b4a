#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real, and nothing else: an MQTT broker
# (test/helpers/mosquitto.ts), a browser (test/e2e), a Python WebSocket peer
# (test/helpers/ws-peers.py; python3 itself also runs the firmware mock's PTY relay) and
# systemd-analyze (test/integration/daemon/systemd.test.ts), and for `npm run test:systemd` systemd-nspawn
# and debootstrap (a Debian root file system booted with systemd as PID 1).
# Idempotent: when everything is present it changes nothing and needs no root. apt-get does
# need root: as root it runs directly, otherwise through sudo, and says so first.
set -euo pipefail
need=()
[ -x /usr/bin/python3 ] || need+=(python3)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import websockets' 2>/dev/null || need+=(python3-websockets)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-deps: every test tool is present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: missing ${need[*]}; installing Debian packages needs root: run this script as root (no sudo here)" >&2
    exit 1
  fi
  echo "install-deps: missing ${need[*]}; apt-get needs root, asking sudo" >&2
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
