#!/usr/bin/env sh
# One command: start `dw server start` on a scratch database, run the order demo, stop the server.
#   examples/order_processing/run.sh            (PORT, TOKEN, PYTHON may be set)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python3}
PORT=${PORT:-8080}
TOKEN=${TOKEN:-dev-token}
DATA=$(mktemp -d)
export PYTHONPATH="$ROOT/src:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT"
"$PYTHON" -m durable_workflow.cli.main server start --db "sqlite:///$DATA/orders.db" \
    --port "$PORT" --token "$TOKEN" --log-level warning &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$DATA"' EXIT INT TERM
"$PYTHON" -m examples.order_processing --server "http://127.0.0.1:$PORT" --token "$TOKEN"
