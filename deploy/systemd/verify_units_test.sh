#!/usr/bin/env bash
# Checks the systemd units with `systemd-analyze verify` (any warning fails)
# and that they keep the promises docs/operations.md makes. The binaries
# are pointed at the built ones so that verify also checks ExecStart.
set -uo pipefail
units="deploy/systemd"
dir="${TEST_TMPDIR:-$(mktemp -d)}/units"
mkdir -p "$dir"
controller_bin="$PWD/controller/amoeba-controller"
worker_bin="$PWD/worker/amoeba-worker"
sed "s#/usr/local/bin/amoeba-controller#$controller_bin#" \
  "$units/amoeba-controller.service" > "$dir/amoeba-controller.service"
# An instance, as systemd would load amoeba-worker@3.service.
sed "s#/usr/local/bin/amoeba-worker#$worker_bin#" \
  "$units/amoeba-worker@.service" > "$dir/amoeba-worker@3.service"
fail=0
output=$(cd "$dir" && systemd-analyze verify ./amoeba-controller.service \
  ./amoeba-worker@3.service 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || [ -n "$output" ]; then
  echo "systemd-analyze verify (rc $rc):"
  echo "$output"
  fail=1
fi
expect() {  # file pattern why
  if ! grep -qE -e "$2" "$1"; then echo "FAIL: $1 lacks '$2' ($3)"; fail=1; fi
}
for u in "$units/amoeba-controller.service" "$units/amoeba-worker@.service"; do
  expect "$u" '^User=amoeba$' "dedicated user"
  expect "$u" '^Restart=on-failure$' "restart on failure"
  expect "$u" '^StartLimitBurst=' "restart backoff limit"
  expect "$u" '^EnvironmentFile=/etc/amoeba/' "settings under /etc/amoeba"
  expect "$u" '^NoNewPrivileges=yes$' "hardening"
  expect "$u" '^ProtectSystem=strict$' "hardening"
done
expect "$units/amoeba-worker@.service" '^Environment=CUDA_VISIBLE_DEVICES=%i$' \
  "each instance sees only its GPU"
expect "$units/amoeba-worker@.service" 'worker-%i/spool' "spool per instance"
expect "$units/amoeba-worker@.service" '--metrics_listen=0.0.0.0:947%i' \
  "a metrics port per instance (deploy/prometheus/prometheus.yml)"
expect "$units/controller.env" '--metrics_listen=0.0.0.0:9464' \
  "controller metrics (deploy/prometheus/prometheus.yml)"
if [ "$fail" -eq 0 ]; then echo "units verified"; fi
exit "$fail"
