#!/usr/bin/env bash
# Checks deploy/prometheus with the real promtool: the scrape configuration,
# the alerting rules and their unit tests (amoeba_rules_test.yml), and that
# every query of the Grafana dashboard parses as PromQL.
set -euo pipefail
dir="deploy/prometheus"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
promtool check config "$dir/prometheus.yml"
promtool check rules "$dir/amoeba_rules.yml"
(cd "$dir" && promtool test rules amoeba_rules_test.yml)
# The dashboard's queries as recording rules: promtool parses each one.
python3 - "$dir/grafana-dashboard.json" > "$tmp/dashboard_rules.yml" <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard\n    rules:")
count = 0
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        count += 1
        print(f"      - record: dashboard:query_{count}")
        print(f"        expr: {json.dumps(target['expr'])}")
if count == 0:
    sys.exit("no queries in the dashboard")
PY
promtool check rules "$tmp/dashboard_rules.yml"
echo "prometheus files verified"
