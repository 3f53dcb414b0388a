#!/usr/bin/env bash
# Start the sandbox and Airflow (standalone) with the demo integrations; Ctrl-C stops what this started.
set -euo pipefail
# Each service runs in its own session (setsid), so Ctrl-C reaches only this script, whose trap stops
# every service with its children; `env --default-signal=INT` undoes the SIGINT-ignore bash gives
# background commands (Python only shuts down cleanly on SIGINT when it was not ignored at start).
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/sandbox_start.sh
LOG_DIR=$AIRFLOW_HOME/logs/demo
mkdir -p "$LOG_DIR"
pids=()
stop() {
  # A second INT / TERM must not cut the stopping short (`make` passes its own TERM on to this script).
  trap '' INT TERM
  trap - EXIT
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

echo "== state store";       channelsync db upgrade | tail -1
echo "== Airflow metadata";  airflow db migrate >"$LOG_DIR/db-migrate.log" 2>&1
echo "== sandbox at $SANDBOX_URL (scale ${SCALE:-small})"
start_sandbox "$LOG_DIR/sandbox.log"
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
