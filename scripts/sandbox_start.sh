# Sourced by scripts/demo.sh and scripts/demo_celery.sh: waiting for a service to answer, and starting the
# sandbox. The caller has LOG_DIR (named in errors) and a `pids` array its trap stops (a `names` array too,
# for demo_celery.sh's listing).

wait_for() {  # url, what, seconds
  for _ in $(seq 1 "$3"); do
    if python - "$1" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2)
PY
    sleep 1
  done
  echo "error: $2 did not answer at $1 within $3 s; see $LOG_DIR" >&2; return 1
}

start_sandbox() {  # log file, working folder (default: here)
  # In a session of its own (setsid; `env --default-signal=INT` undoes the SIGINT-ignore bash gives
  # background commands), recorded in `pids` before it is waited for: the caller's trap stops it whatever
  # happens next.
  local log=$1 dir=${2:-$PWD}
  mkdir -p "$dir"
  (cd "$dir" && exec setsid env --default-signal=INT channelsync sandbox serve --port "${SANDBOX_PORT:-8700}" \
    --scale "${SCALE:-small}") >"$log" 2>&1 &
  pids+=($!)
  names+=(sandbox)
  echo "   sandbox (pid $!, log $log)"
  wait_for "$SANDBOX_URL/_sandbox/health" sandbox 60
}
