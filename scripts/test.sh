#!/usr/bin/env bash
# Lint, type-check and run every test. Tests that need PostgreSQL run when
# CHANNELSYNC_TEST_POSTGRES_URL is set (.ci/run sets it under CI when a server answers).
set -euo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME=${AIRFLOW_HOME:-$PWD/.airflow-test}
export CHANNELSYNC_HOME=${CHANNELSYNC_HOME:-$AIRFLOW_HOME/channelsync}
source scripts/env.sh
echo "== ruff"; ruff check .
echo "== mypy"; mypy include plugins
echo "== airflow db migrate (for the DAG tests)"; airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 \
  || { cat "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
echo "== pytest"
set +e
# Both cores (PYTEST_WORKERS=0: one process): most tests wait on HTTP, subprocesses and the scheduler.
# Each work unit (tests/conftest.py: a module, or a folder sharing a set-up) runs on one worker.
workers=${PYTEST_WORKERS:-2}
parallel=()
if [ "$workers" != "0" ]; then parallel=(-n "$workers" --no-loadscope-reorder); fi
python -m pytest "${parallel[@]}" --durations=20 "$@"  # the 20 slowest: where the CI minutes go
code=$?
set -e
if [ "$code" -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi
exit "$code"
