#!/usr/bin/env bash
# Installs amoeba on this host: binaries to /usr/local/bin, systemd units to
# /etc/systemd/system, example settings to /etc/amoeba (kept if present),
# and a dedicated system user `amoeba`. Run as root from a built tree
# (bazel build //cli:amoeba //controller:amoeba-controller //worker:amoeba-worker).
#
# Usage: sudo bash deploy/install.sh [--prefix=/usr/local] [--no-systemd]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
systemd=1
for arg in "$@"; do
  case "$arg" in
    --prefix=*) prefix="${arg#--prefix=}" ;;
    --no-systemd) systemd=0 ;;
    *) echo "unknown option $arg"; exit 2 ;;
  esac
done
bin="$(bazel info bazel-bin 2>/dev/null)"
for b in cli/amoeba cli/amoeba-train controller/amoeba-controller worker/amoeba-worker; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b: build first"; exit 1; }
  install -m 0755 "$bin/$b" "$prefix/bin/"
done
echo "installed binaries to $prefix/bin"
if [ "$systemd" -eq 1 ]; then
  id amoeba >/dev/null 2>&1 ||
    useradd --system --home-dir /var/lib/amoeba --shell /usr/sbin/nologin amoeba
  install -d -m 0750 -o root -g amoeba /etc/amoeba
  for f in controller.env worker.env; do
    [ -e "/etc/amoeba/$f" ] || install -m 0640 -g amoeba "deploy/systemd/$f" /etc/amoeba/
  done
  if [ ! -e /etc/amoeba/token ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > /etc/amoeba/token
    chmod 0640 /etc/amoeba/token
    chgrp amoeba /etc/amoeba/token
    echo "created /etc/amoeba/token (copy it to every worker host)"
  fi
  sed "s#/usr/local/bin#$prefix/bin#g" deploy/systemd/amoeba-controller.service \
    > /etc/systemd/system/amoeba-controller.service
  sed "s#/usr/local/bin#$prefix/bin#g" deploy/systemd/amoeba-worker@.service \
    > /etc/systemd/system/amoeba-worker@.service
  systemctl daemon-reload 2>/dev/null || true
  echo "installed units; head node: systemctl enable --now amoeba-controller"
  echo "GPU hosts: systemctl enable --now amoeba-worker@0 amoeba-worker@1 ..."
fi
