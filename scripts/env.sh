# Sourced by the scripts: Airflow and channelsync settings for a checkout-local installation.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/.venv/bin:$PATH"
export AIRFLOW_HOME=${AIRFLOW_HOME:-$ROOT/.airflow}
export CHANNELSYNC_HOME=${CHANNELSYNC_HOME:-$AIRFLOW_HOME/channelsync}
export CHANNELSYNC_CONFIG=${CHANNELSYNC_CONFIG:-$ROOT/config/integrations.yaml}
export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags
export AIRFLOW__CORE__PLUGINS_FOLDER=$ROOT/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__PARALLELISM=${AIRFLOW__CORE__PARALLELISM:-4}  # 2 cores: the default 32 pre-forks ~5 GB
export AIRFLOW__API__HOST=${AIRFLOW__API__HOST:-127.0.0.1}
export AIRFLOW__API__PORT=${PORT:-8080}
export AIRFLOW__API__BASE_URL=${AIRFLOW__API__BASE_URL:-http://127.0.0.1:${PORT:-8080}}
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}
export SANDBOX_URL=${SANDBOX_URL:-http://127.0.0.1:${SANDBOX_PORT:-8700}}
mkdir -p "$AIRFLOW_HOME" "$CHANNELSYNC_HOME"
