#!/usr/bin/env bash
# Start the sandbox and Airflow (standalone) with the demo integrations; Ctrl-C stops what this started.
set -euo pipefail
# Each service runs in its own session (setsid), so Ctrl-C reaches only this script, whose trap stops
# every service with its children; `env --default-signal=INT` undoes the SIGINT-ignore bash gives
# background commands (Python only shuts down cleanly on SIGINT when it was not ignored at start).
cd "$(dirname "$0")/.."
source scripts/env.sh
LOG_DIR=$AIRFLOW_HOME/logs/demo
mkdir -p "$LOG_DIR"
pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping channelsync demo (pids ${pids[*]:-none})"
  for pid in "${pids[@]}"; do kill -INT -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  sleep 1
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  echo "stopped"
}
trap stop INT TERM EXIT

wait_for() {  # url, what, seconds
  for _ in $(seq 1 "$3"); do
    if python - "$1" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2)
PY
    sleep 1
  done
  echo "$2 did not answer at $1 within $3 s; see $LOG_DIR" >&2; return 1
}

echo "== state store";       channelsync db upgrade | tail -1
echo "== Airflow metadata";  airflow db migrate >"$LOG_DIR/db-migrate.log" 2>&1
echo "== sandbox at $SANDBOX_URL (scale ${SCALE:-small})"
setsid env --default-signal=INT channelsync sandbox serve --port "${SANDBOX_PORT:-8700}" --scale "${SCALE:-small}" >"$LOG_DIR/sandbox.log" 2>&1 &
pids+=($!)
wait_for "$SANDBOX_URL/_sandbox/health" sandbox 60
echo "== connections and pools"; channelsync airflow load-settings --sandbox-url "$SANDBOX_URL"
echo "== customer mappings (a person's step, scripted for the demo: the suggestions matching by reference)"
for integration in demo-autotask demo-connectwise; do
  keys=$(channelsync mapping suggest --integration "$integration" --min-score 0.95 --json \
         | python -c 'import json, sys; print(" ".join(r["key"] for r in json.load(sys.stdin) if r["psa_contract_id"]))')
  if [ -n "$keys" ]; then channelsync mapping suggest --integration "$integration" --apply $keys --by demo | tail -1; fi
done
echo "== DAGs";  channelsync config check
echo "== Airflow standalone at $AIRFLOW__API__BASE_URL (logs: $LOG_DIR/airflow.log)"
setsid env --default-signal=INT airflow standalone >"$LOG_DIR/airflow.log" 2>&1 &
pids+=($!)
wait_for "$AIRFLOW__API__BASE_URL/api/v2/monitor/health" Airflow 180
airflow dags reserialize >/dev/null 2>&1 || true
for dag_id in $(channelsync config check) channelsync_maintenance; do
  airflow dags unpause "$dag_id" >/dev/null && echo "unpaused $dag_id"
done
password_file=$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated
password=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['admin'])" "$password_file" 2>/dev/null || echo "see $password_file")
cat <<MSG

channelsync demo is running
  Airflow UI:  $AIRFLOW__API__BASE_URL   (user: admin, password: $password)
  channelsync: $AIRFLOW__API__BASE_URL/plugin/channelsync   (dashboard, history, run status, error catalog)
  sandbox:     $SANDBOX_URL/_sandbox/health
  sync runs:   .venv/bin/channelsync status   (with AIRFLOW_HOME=$AIRFLOW_HOME CHANNELSYNC_HOME=$CHANNELSYNC_HOME)
Press Ctrl-C to stop.
MSG
# Poll rather than `wait`: the INT trap runs as soon as the current `sleep` ends.
while kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null; do sleep 1; done
echo "a service stopped by itself; see $LOG_DIR" >&2
