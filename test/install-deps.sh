#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: a PTY relay, an MQTT broker,
# a browser, a Python WebSocket peer, systemd-analyze, and systemd-nspawn + debootstrap. Idempotent; skips apt when all are present.
set -euo pipefail
need=()
command -v socat >/dev/null || need+=(socat)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import websockets' 2>/dev/null || need+=(python3-websockets)
command -v systemd-analyze >/dev/null || need+=(systemd)
# npm run test:systemd: a Debian root file system, booted with systemd as PID 1
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
