#!/usr/bin/env bash
# Whole-process timings in a large demo vault, with and without an agent:
#   `secret get` and `secret set` (each audited, so each writes), client RSS, and the cold cost.
# Usage: scripts/bench-agent.sh [SERVICES]   (default 10000; the demo vault takes a while to make)
# Needs hyperfine (apt install hyperfine) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
cargo build --release --locked -q -p keyloom-cli
KEYLOOM="$PWD/target/release/keyloom"
work=$(mktemp -d)
export KEYLOOM_VAULT="$work/vault" XDG_RUNTIME_DIR="$work/run" KEYLOOM_PASSPHRASE="bench passphrase for the demo vault"
mkdir -m 700 "$XDG_RUNTIME_DIR"
trap '"$KEYLOOM" lock >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "== making a $N-service demo vault"
start=$(date +%s.%N)
"$KEYLOOM" demo --vault "$KEYLOOM_VAULT" --services "$N" --json > /dev/null
echo "made in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s; $(du -sh "$KEYLOOM_VAULT" | cut -f1) on disk"
svc=$("$KEYLOOM" service list --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['name'])")
ref=$("$KEYLOOM" secret list "$svc" --json | python3 -c "import json,sys; print('$svc/' + json.load(sys.stdin)[0]['name'])")
echo "secret: $ref"

echo "== cold: no agent (key derivation, open, index, audited reveal, close)"
hyperfine --warmup 1 --runs 5 "$KEYLOOM secret get $ref"
/usr/bin/time -f "cold secret get: max RSS %M KB" "$KEYLOOM" secret get "$ref" >/dev/null

echo "== through the agent"
"$KEYLOOM" unlock --ttl 30m
unset KEYLOOM_PASSPHRASE
hyperfine --warmup 3 --runs 50 "$KEYLOOM secret get $ref" "echo -n bench-value | $KEYLOOM secret set $svc/BENCH_SET"
/usr/bin/time -f "agent client secret get: max RSS %M KB" "$KEYLOOM" secret get "$ref" >/dev/null
agent_pid=$(pgrep -f "keyloom --vault $KEYLOOM_VAULT agent" | head -1)
echo "agent RSS: $(ps -o rss= -p "$agent_pid") KB"
"$KEYLOOM" lock
