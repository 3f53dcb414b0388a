#!/usr/bin/env bash
# Create .venv and install the pinned lock (requirements.txt) plus channelsync itself, editable.
# uv when it is on PATH (seconds), plain pip otherwise (about a minute); bytecode compiled either way.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; assert sys.version_info[:2] >= (3, 11), "channelsync needs Python 3.11+"'
if command -v uv >/dev/null 2>&1; then
  echo "setting up .venv with uv"
  uv venv -q --allow-existing --python "$PYTHON" .venv
  VIRTUAL_ENV=.venv uv pip install -q --compile-bytecode -r requirements.txt
  VIRTUAL_ENV=.venv uv pip install -q --compile-bytecode --no-deps -e .
else
  echo "setting up .venv with pip (install uv for a faster set-up)"
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  .venv/bin/python -m compileall -q .venv/lib >/dev/null || true
fi
echo ".venv ready: $(.venv/bin/python --version), channelsync $(.venv/bin/python -c 'import channelsync; print(channelsync.__version__)')"
