#!/usr/bin/env bash
# Create .mlserver-venv with MLServer 1.7.1 and mlserver-sklearn: a real Open Inference Protocol v2
# server (REST and gRPC) for the model-backend tests. MLServer pins its own dependency versions,
# so it lives in a virtual environment of its own, started by the tests as a separate process.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .mlserver-venv/bin/mlserver ]; then
  python3 -m venv .mlserver-venv
  .mlserver-venv/bin/pip install -q "mlserver==1.7.1" "mlserver-sklearn==1.7.1"
fi
.mlserver-venv/bin/mlserver --help >/dev/null
echo "mlserver: $(pwd)/.mlserver-venv/bin/mlserver"
