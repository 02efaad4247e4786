#!/usr/bin/env bash
# Issues N ECDSA P-256 leaf certificates with fresh keys twice, in the same run:
#   1. with the openssl CLI, one process per certificate (key generation + signing), and
#   2. with `keyloom cert issue --ca … --env … --missing` (one durable bulk operation),
# and prints both rates and their ratio.  Usage: scripts/bench-pki.sh [N]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
cargo build --release --locked -q -p keyloom-cli
KEYLOOM="$PWD/target/release/keyloom"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

now() { date +%s.%N; }

# --- openssl: a CA, then one `openssl req -x509 -CA` process per leaf.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -subj /CN=bench-ca -days 365 >/dev/null 2>&1
start=$(now)
for i in $(seq 1 "$N"); do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "leaf$i.key" -out "leaf$i.pem" \
    -subj "/CN=svc-$i" -addext "subjectAltName=DNS:svc-$i.bench.example" -addext "extendedKeyUsage=serverAuth,clientAuth" \
    -CA ca.pem -CAkey ca.key -days 90 >/dev/null 2>&1
done
openssl_secs=$(python3 -c "print($(now) - $start)")

# --- keyloom: N services, one CA, one bulk issue.
export KEYLOOM_VAULT="$work/vault" KEYLOOM_PASSPHRASE="bench passphrase for keyloom"
"$KEYLOOM" init --scrypt-log-n 14 --recovery-key-out recovery.txt >/dev/null
# Commands go through an agent, as a user's would: no key derivation or reopening per command.
"$KEYLOOM" unlock --ttl 10m >/dev/null
trap '"$KEYLOOM" lock >/dev/null 2>&1; rm -rf "$work"' EXIT
python3 -c "import json,sys; json.dump([{'name': f'svc-{i}', 'environment': 'bench'} for i in range(1, $N + 1)], sys.stdout)" > services.json
"$KEYLOOM" service import services.json >/dev/null
"$KEYLOOM" ca create bench-ca --permit-dns .bench.example >/dev/null
start=$(now)
"$KEYLOOM" cert issue --ca bench-ca --env bench --missing --json > issued.json
keyloom_secs=$(python3 -c "print($(now) - $start)")
issued=$(python3 -c "import json; print(len(json.load(open('issued.json'))))")
[ "$issued" -eq "$N" ] || { echo "keyloom issued $issued of $N" >&2; exit 1; }

python3 - "$N" "$openssl_secs" "$keyloom_secs" <<'PY'
import sys
n, o, k = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"openssl CLI (one process per certificate): {n} certificates in {o:.2f} s = {n/o:,.0f}/s")
print(f"keyloom cert issue --missing through the agent (one durable bulk operation, whole client process): {n} certificates in {k:.3f} s = {n/k:,.0f}/s")
print(f"ratio: keyloom is {o/k:.1f}x faster")
PY
