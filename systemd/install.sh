#!/usr/bin/env bash
# Install serialgate as a systemd service (Debian / Raspberry Pi OS). Run from a built checkout:
#
#   npm ci && npm run build && sudo systemd/install.sh
#
# What goes where (all under $DESTDIR when set, for packaging and tests):
#   /opt/serialgate/                       the app: dist/, production node_modules, package.json
#   /usr/local/bin/serialgate              → /opt/serialgate/dist/src/cli.cjs
#   /etc/systemd/system/serialgate.service the hardened unit (ExecStart uses this machine's node)
#   /etc/serialgate/config.yaml            from systemd/config.example.yaml — never overwritten (0640)
#   /etc/serialgate/env                    secrets for ${NAME} in the config, a random operator token (0640)
#   /var/lib/serialgate                    state (created by systemd: StateDirectory=)
# and the system user `serialgate` (member of dialout), unless --no-user or DESTDIR is set.
#
# Idempotent: run it again after `git pull && npm ci && npm run build` to upgrade.
#   --uninstall   remove the app, the command and the unit; keep /etc/serialgate, state and user
#   --purge       with --uninstall: remove those too
#   --no-user     do not create the user (implied by DESTDIR)
#   --skip-npm    do not run `npm ci --omit=dev` in /opt/serialgate (dependencies provided otherwise)
#   --enable      enable and start the service (not with DESTDIR)
#   --destdir DIR same as DESTDIR=DIR
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DESTDIR="${DESTDIR:-}"
APP=/opt/serialgate
BIN=/usr/local/bin/serialgate
UNIT=/etc/systemd/system/serialgate.service
ETC=/etc/serialgate
USER_NAME=serialgate
uninstall=0 purge=0 make_user=1 npm_install=1 enable=0

while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    --no-user) make_user=0 ;;
    --skip-npm) npm_install=0 ;;
    --enable) enable=1 ;;
    --destdir) DESTDIR="$2"; shift ;;
    --destdir=*) DESTDIR="${1#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf 'serialgate install: %s\n' "$*"; }
# systemctl only on the live system: not into a DESTDIR, not where systemd is not running
live_systemd() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; }
user_exists() { getent passwd "$USER_NAME" >/dev/null 2>&1; }
[ -n "$DESTDIR" ] && make_user=0 && DESTDIR="$(mkdir -p "$DESTDIR" && cd "$DESTDIR" && pwd)"
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or set DESTDIR to install into a directory" >&2
  exit 1
fi

if [ "$uninstall" -eq 1 ]; then
  if live_systemd; then systemctl disable --now serialgate.service 2>/dev/null || true; fi
  rm -f "$DESTDIR$UNIT" "$DESTDIR$BIN"
  rm -rf "$DESTDIR$APP"
  if [ "$purge" -eq 1 ]; then
    rm -rf "$DESTDIR$ETC" "$DESTDIR/var/lib/serialgate"
    if [ -z "$DESTDIR" ] && user_exists; then userdel "$USER_NAME" || true; fi
    say "removed the app, the unit, $ETC, the state and the user"
  else
    say "removed the app and the unit; kept $ETC (config, env), state and the $USER_NAME user (--purge removes them)"
  fi
  if live_systemd; then systemctl daemon-reload; fi
  exit 0
fi

[ -f "$SRC/dist/src/cli.cjs" ] || { echo "install.sh: $SRC/dist/src/cli.cjs missing: run 'npm ci && npm run build' first" >&2; exit 1; }
NODE="$(command -v node || true)"
[ -n "$NODE" ] || { echo "install.sh: node not found (Node.js 20 or newer is needed)" >&2; exit 1; }
node_major="$("$NODE" -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || { echo "install.sh: Node.js $node_major found, 20 or newer is needed" >&2; exit 1; }

# 1. the user: a system account without a shell, in dialout for the serial ports
if [ "$make_user" -eq 1 ]; then
  if ! user_exists; then
    useradd --system --user-group --home-dir /var/lib/serialgate --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
    say "created system user $USER_NAME"
  fi
  getent group dialout >/dev/null || groupadd --system dialout
  id -nG "$USER_NAME" | tr ' ' '\n' | grep -qx dialout || usermod -aG dialout "$USER_NAME"
fi

# 2. the app: replaced as a whole, so an upgrade leaves no stale files behind
stage="$DESTDIR$APP.new"
rm -rf "$stage"
install -d -m 0755 "$stage" "$stage/firmware-mock"
cp -R "$SRC/dist" "$stage/dist"
cp "$SRC/package.json" "$stage/"
[ -f "$SRC/package-lock.json" ] && cp "$SRC/package-lock.json" "$stage/"
# the demo's PTY relay is loaded from the source tree layout (dist/firmware-mock/../../firmware-mock)
cp "$SRC/firmware-mock/pty-relay.py" "$stage/firmware-mock/"
if [ "$npm_install" -eq 1 ]; then
  (cd "$stage" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
fi
chmod 0755 "$stage/dist/src/cli.cjs"
rm -rf "$DESTDIR$APP"
mv "$stage" "$DESTDIR$APP"
install -d -m 0755 "$DESTDIR$(dirname "$BIN")"
ln -sfn "$APP/dist/src/cli.cjs" "$DESTDIR$BIN"
say "installed the app to $APP (node: $NODE)"

# 3. the unit, with this machine's node
install -d -m 0755 "$DESTDIR$(dirname "$UNIT")"
sed "s#^ExecStart=/usr/bin/node #ExecStart=$NODE #" "$SRC/systemd/serialgate.service" > "$DESTDIR$UNIT.tmp"
chmod 0644 "$DESTDIR$UNIT.tmp"
mv "$DESTDIR$UNIT.tmp" "$DESTDIR$UNIT"

# 4. config and secrets: created once, never overwritten
group=root
user_exists && [ -z "$DESTDIR" ] && group="$USER_NAME"
install -d -m 0750 "$DESTDIR$ETC"
[ "$group" = root ] || chgrp "$group" "$DESTDIR$ETC"
if [ ! -e "$DESTDIR$ETC/config.yaml" ]; then
  install -m 0640 "$SRC/systemd/config.example.yaml" "$DESTDIR$ETC/config.yaml"
  [ "$group" = root ] || chgrp "$group" "$DESTDIR$ETC/config.yaml"
  say "created $ETC/config.yaml from the annotated example: edit the devices, then restart"
else
  say "kept the existing $ETC/config.yaml"
fi
if [ ! -e "$DESTDIR$ETC/env" ]; then
  (umask 0027 && printf '# secrets for ${NAME} references in config.yaml (mode 0640)\nSG_OPERATOR_TOKEN=%s\n' \
    "$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')" > "$DESTDIR$ETC/env")
  chmod 0640 "$DESTDIR$ETC/env"
  [ "$group" = root ] || chgrp "$group" "$DESTDIR$ETC/env"
  say "created $ETC/env with a random operator token (SG_OPERATOR_TOKEN)"
fi

# 5. systemd
if live_systemd; then
  systemctl daemon-reload
  if [ "$enable" -eq 1 ]; then
    systemctl enable --now serialgate.service
    say "enabled and started: systemctl status serialgate; journalctl -u serialgate -f"
  else
    # an upgrade restarts a running service onto the new code
    systemctl try-restart serialgate.service
    say "next: sudo systemctl enable --now serialgate   (then: systemctl status serialgate)"
  fi
fi
say "done"
