#!/usr/bin/env bash
# The production profile on one machine (`make demo-celery`): Airflow's API server, scheduler, DAG
# processor, triggerer and two Celery workers, with PostgreSQL for Airflow's metadata and for the state
# store (two databases), Redis as the Celery broker, staging on a shared file:// root and the sandbox.
# Ctrl-C (or SIGTERM) stops everything this started.
#
# Every setting below is an environment variable: the same ones a Kubernetes / Helm deployment sets
# (docs/deployment.md). Override any of them, e.g.
#   CHANNELSYNC_PG_URL=postgresql://postgres@127.0.0.1:5432 REDIS_URL=redis://127.0.0.1:6379/0 \
#   PORT=8080 SANDBOX_PORT=8700 CHANNELSYNC_PROFILE=demo bash scripts/demo_celery.sh
# Databases: channelsync_airflow_<profile> and channelsync_state_<profile> on CHANNELSYNC_PG_URL, created
# when missing; CHANNELSYNC_PROFILE_FRESH=1 drops and recreates them first.
#
# Each service runs in its own session (setsid); stopping one stops every process of its session, so the
# task processes a worker forked (Airflow puts them in process groups of their own) go with it. When
# the profile is up, $CHANNELSYNC_PROFILE_DIR/profile.env lists the services' pids and the addresses (the
# system tests read it). A worker that dies is reported and the profile goes on with the other one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PROFILE=${CHANNELSYNC_PROFILE:-demo}
[[ $PROFILE =~ ^[a-z0-9_]{1,40}$ ]] || { echo "error: CHANNELSYNC_PROFILE must match [a-z0-9_]{1,40}" >&2; exit 2; }
RUN_DIR=${CHANNELSYNC_PROFILE_DIR:-$ROOT/.airflow/celery-$PROFILE}
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
# The control plane's AIRFLOW_HOME; each worker has its own working folder (below).
export AIRFLOW_HOME=$RUN_DIR/airflow
export CHANNELSYNC_HOME=$RUN_DIR/channelsync
# This script starts the sandbox and the API server itself, on loopback: their addresses follow the ports
# (not an AIRFLOW__API__BASE_URL or SANDBOX_URL left in the environment by an earlier `source scripts/env.sh`).
export AIRFLOW__API__BASE_URL=http://127.0.0.1:${PORT:-8080}
export SANDBOX_URL=http://127.0.0.1:${SANDBOX_PORT:-8700}
source scripts/env.sh
source scripts/sandbox_start.sh
LOG_DIR=$RUN_DIR/logs
mkdir -p "$LOG_DIR"
rm -f "$RUN_DIR/profile.env"

PG_URL=${CHANNELSYNC_PG_URL:-postgresql://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
AIRFLOW_DB=channelsync_airflow_$PROFILE
STATE_DB=channelsync_state_$PROFILE
WORKERS=${CHANNELSYNC_WORKERS:-2}
read -r -a WORKER_LOG_PORTS <<<"${WORKER_LOG_PORTS:-8793 8795}"
TRIGGER_LOG_PORT=${TRIGGER_LOG_PORT:-8794}
(( ${#WORKER_LOG_PORTS[@]} >= WORKERS )) || { echo "error: WORKER_LOG_PORTS needs $WORKERS ports" >&2; exit 2; }

# Secrets of this profile (Fernet key, JWT secret, admin password): made once, kept 0600 in the run folder,
# so connections encrypted by one start are read by the next. Kubernetes: a Secret (docs/deployment.md).
SECRETS=$RUN_DIR/secrets.env
if [ ! -f "$SECRETS" ]; then
  (umask 077; python - >"$SECRETS" <<'PY'
import secrets
from cryptography.fernet import Fernet
print(f"FERNET_KEY={Fernet.generate_key().decode()}")
print(f"JWT_SECRET={secrets.token_urlsafe(64)}")  # HS512 wants 64 bytes or more
print(f"API_SECRET_KEY={secrets.token_urlsafe(32)}")
print(f"ADMIN_PASSWORD={secrets.token_urlsafe(12)}")
PY
  )
fi
source "$SECRETS"
printf '{"admin": "%s"}\n' "$ADMIN_PASSWORD" >"$RUN_DIR/passwords.json"
chmod 600 "$RUN_DIR/passwords.json"

# --- the settings (docs/deployment.md lists them for Kubernetes) ------------------------------------
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=${PG_URL/postgresql:/postgresql+psycopg2:}/$AIRFLOW_DB
export AIRFLOW__CELERY__BROKER_URL=$REDIS_URL
export AIRFLOW__CELERY__RESULT_BACKEND=db+$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
# Every key this profile's broker uses starts with this prefix: two profiles can share one Redis.
export AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX=${AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX:-channelsync_$PROFILE:}
export AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT=${AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT:-21600}
export AIRFLOW__CELERY__WORKER_CONCURRENCY=${AIRFLOW__CELERY__WORKER_CONCURRENCY:-2}
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=$AIRFLOW__API__BASE_URL/execution/
export AIRFLOW__CORE__FERNET_KEY=$FERNET_KEY
export AIRFLOW__API_AUTH__JWT_SECRET=$JWT_SECRET
export AIRFLOW__API__SECRET_KEY=$API_SECRET_KEY
export AIRFLOW__API__WORKERS=${AIRFLOW__API__WORKERS:-1}  # 2 cores here; a cluster runs more replicas
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=$RUN_DIR/passwords.json
export AIRFLOW__LOGGING__BASE_LOG_FOLDER=$LOG_DIR/tasks  # shared by the workers, read by the API server
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=$TRIGGER_LOG_PORT
export CHANNELSYNC_STATE_URL=$PG_URL/$STATE_DB
export CHANNELSYNC_STAGING_URL=${CHANNELSYNC_STAGING_URL:-file://$RUN_DIR/shared-staging}

pids=()
names=()
stop() {
  ((${#pids[@]})) || return 0
  echo; echo "stopping the channelsync production profile (${names[*]:-nothing started})"
  for pid in "${pids[@]}"; do kill -INT -- "-$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  done
  for pid in "${pids[@]}"; do signal_session TERM "$pid"; done
  sleep 1
  for pid in "${pids[@]}"; do signal_session KILL "$pid"; done
  rm -f "$RUN_DIR/profile.env"
  echo "stopped"
}
on_exit() {
  local code=$?
  trap - EXIT
  trap '' INT TERM  # a second signal (`make` passes its TERM on) must not cut the stopping short
  stop
  exit "$code"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

signal_session() {  # signal, session id: every process of that session (task processes in their own groups too)
  local member
  for member in $(ps -e -o pid=,sid= | awk -v sid="$2" '$2 == sid {print $1}'); do
    kill "-$1" "$member" 2>/dev/null || true
  done
}

start() {  # name, working folder, command...: in its own session, output to $LOG_DIR/<name>.log
  local name=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  (cd "$dir" && exec setsid env --default-signal=INT "$@") >"$LOG_DIR/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  echo "   $name (pid $!, log $LOG_DIR/$name.log)"
}

wait_for_line() {  # file, text, what, seconds
  for _ in $(seq 1 "$4"); do
    if grep -q -- "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 1
  done
  echo "error: $3 not ready within $4 s; see $1" >&2; return 1
}

echo "== PostgreSQL at $PG_URL, Redis at $REDIS_URL"
python - "$PG_URL" "$REDIS_URL" "${CHANNELSYNC_PROFILE_FRESH:-0}" "$AIRFLOW_DB" "$STATE_DB" <<'PY'
import sys
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

pg_url, redis_url, fresh, *databases = sys.argv[1:]


def refuse(message: str) -> None:
    print(f"error: {message} (`make demo` runs without it)", file=sys.stderr)
    sys.exit(2)


try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
except redis.RedisError as exc:
    refuse(f"Redis does not answer at {redis_url} ({exc}); start it or set REDIS_URL")
admin = create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
try:
    with admin.connect() as connection:
        for name in databases:
            if fresh == "1":
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                connection.execute(text(f'CREATE DATABASE "{name}"'))
                print(f"   created database {name}")
except OperationalError as exc:
    refuse(f"PostgreSQL does not answer at {pg_url} ({str(exc.orig).strip().splitlines()[0]}); start it or set "
           "CHANNELSYNC_PG_URL")
finally:
    admin.dispose()
PY
echo "== Airflow metadata ($AIRFLOW_DB)"; airflow db migrate >"$LOG_DIR/db-migrate.log" 2>&1 \
  || { tail -20 "$LOG_DIR/db-migrate.log" >&2; exit 1; }
echo "== state store ($STATE_DB)"; channelsync db upgrade | tail -1
echo "== services"
start_sandbox "$LOG_DIR/sandbox.log" "$RUN_DIR/sandbox"
channelsync airflow load-settings --sandbox-url "$SANDBOX_URL" | sed 's/^/   /'
start api-server "$AIRFLOW_HOME" airflow api-server --host 127.0.0.1 --port "$AIRFLOW__API__PORT"
start scheduler "$AIRFLOW_HOME" airflow scheduler
start dag-processor "$AIRFLOW_HOME" airflow dag-processor
start triggerer "$AIRFLOW_HOME" airflow triggerer
for n in $(seq 1 "$WORKERS"); do
  # Its own working folder, AIRFLOW_HOME and CHANNELSYNC_HOME, as a pod of its own would have: only the
  # databases, the broker, the staging root and the task log folder are shared.
  dir=$RUN_DIR/worker-$n
  mkdir -p "$dir/tmp"
  start "worker-$n" "$dir" env AIRFLOW_HOME="$dir" CHANNELSYNC_HOME="$dir/channelsync" TMPDIR="$dir/tmp" \
    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="${WORKER_LOG_PORTS[$((n - 1))]}" \
    airflow celery worker --celery-hostname "worker-$n@%h" --concurrency "$AIRFLOW__CELERY__WORKER_CONCURRENCY"
done
wait_for "$AIRFLOW__API__BASE_URL/api/v2/monitor/health" "Airflow API server" 240
for n in $(seq 1 "$WORKERS"); do wait_for_line "$LOG_DIR/worker-$n.log" " ready." "worker-$n" 180; done
if [ "${CHANNELSYNC_PROFILE_UNPAUSE:-1}" = "1" ]; then
  airflow dags reserialize >"$LOG_DIR/reserialize.log" 2>&1 || true
  airflow dags unpause --treat-dag-id-as-regex --yes '.*' >/dev/null 2>&1 && echo "== DAGs unpaused"
fi
{
  echo "API_URL=$AIRFLOW__API__BASE_URL"
  echo "SANDBOX_URL=$SANDBOX_URL"
  echo "AIRFLOW_DB_URL=$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
  echo "STATE_URL=$CHANNELSYNC_STATE_URL"
  echo "STAGING_URL=$CHANNELSYNC_STAGING_URL"
  echo "LOG_DIR=$LOG_DIR"
  for i in "${!names[@]}"; do echo "PID_${names[$i]//-/_}=${pids[$i]}"; done
} >"$RUN_DIR/profile.env.tmp"
mv "$RUN_DIR/profile.env.tmp" "$RUN_DIR/profile.env"
cat <<MSG

channelsync production profile "$PROFILE" is running (CeleryExecutor, $WORKERS workers)
  Airflow UI:     $AIRFLOW__API__BASE_URL   (user: admin, password: $ADMIN_PASSWORD)
  sandbox:        $SANDBOX_URL/_sandbox/health
  metadata:       $AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  state store:    $CHANNELSYNC_STATE_URL
  broker:         $REDIS_URL (keys prefixed $AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX)
  staging:        $CHANNELSYNC_STAGING_URL
  logs:           $LOG_DIR
Press Ctrl-C to stop.
MSG
# Poll rather than `wait`: the INT trap runs as soon as the current `sleep` ends. The control plane and
# the sandbox must stay up; workers may die (the other one takes their tasks) but not all of them.
reported=()
while :; do
  alive_workers=0
  for i in "${!names[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      [[ ${names[$i]} == worker-* ]] && alive_workers=$((alive_workers + 1))
      continue
    fi
    [[ ${names[$i]} == worker-* ]] || { echo "${names[$i]} stopped by itself; see $LOG_DIR" >&2; exit 1; }
    if [[ ! " ${reported[*]:-} " == *" ${names[$i]} "* ]]; then
      echo "${names[$i]} stopped (pid ${pids[$i]}); the other workers take its tasks" >&2
      reported+=("${names[$i]}")
    fi
  done
  ((alive_workers > 0)) || { echo "every worker stopped; see $LOG_DIR" >&2; exit 1; }
  sleep 1
done
