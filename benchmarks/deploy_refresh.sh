#!/usr/bin/env bash
# How long until a dance dropped into the watched folder is searchable, and what a refresh with
# nothing new costs: `dancesearch deploy` (2-min refresh, 10-s settle) on a copy of a built
# library, one new Bandai take copied in, `dancesearch query` polled every 3 s; then the
# Prefect server lists the runs with their run times.
# Usage: LIBRARY=path/to/built/library benchmarks/deploy_refresh.sh   (about 6 min)
set -u
cd "$(dirname "$0")/.."
B=.venv/bin
W=${WORK:-/tmp/dancesearch-ops}
mkdir -p "$W"; rm -rf "$W/lib" "$W/incoming"
cp -r "${LIBRARY:?set LIBRARY to a library built by dancesearch build}" "$W/lib"; mkdir "$W/incoming"
export PREFECT_HOME=$W/prefect-home PREFECT_SERVER_ANALYTICS_ENABLED=false
unset PREFECT_API_URL
$B/dancesearch deploy --library "$W/lib" --watch "$W/incoming" --refresh-every 2m --settle 10 \
  --port 8011 > "$W/deploy.log" 2>&1 &
DEPLOY=$!
until curl -sf http://127.0.0.1:8011/api/facets >/dev/null && grep -q "refresh/lib" "$W/deploy.log"; do
  sleep 2
done
echo "deploy up at $(date +%T)"
sleep 20
cp ../shared/data/bandai/dataset-1_bow_musical_001.bvh "$W/incoming/dataset-1_bow_musical_999.bvh"
T0=$(date +%s.%N); echo "copied at $(date +%T)"
until $B/dancesearch query "a bow" --source bandai --limit 50 --json --library "$W/lib" 2>/dev/null \
    | grep -q "_999"; do
  sleep 3
done
T1=$(date +%s.%N); echo "searchable after $(echo "$T1 - $T0" | bc) s at $(date +%T)"
sleep 150  # the next scheduled refresh finds nothing new
$B/python - <<'PY'
import json, urllib.request
body = {"sort": "START_TIME_ASC",
        "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}}
request = urllib.request.Request("http://127.0.0.1:4200/api/flow_runs/filter",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
for r in json.load(urllib.request.urlopen(request)):
    print(r["name"], r["state"]["type"], r["start_time"], f"{r['total_run_time']:.1f} s",
          json.dumps(r.get("parameters", {}))[:80])
PY
kill -TERM $DEPLOY; wait $DEPLOY; echo "deploy stopped: $?"  # a background job ignores SIGINT
