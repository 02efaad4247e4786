#!/usr/bin/env bash
# The long random-damage campaign: N damaged copies of a vault (default 1,000), each opened,
# checked and, when refused, restored with doctor --restore. CI runs 120 as part of the suite.
# Usage: scripts/tamper-test.sh [CASES] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-1000}
seed=${2:-$RANDOM$RANDOM}
cargo build --locked --workspace --features tauri/custom-protocol --bins --quiet
KEYLOOM_TAMPER_CASES=$cases KEYLOOM_TAMPER_SEED=$seed \
  cargo test --locked --workspace --features tauri/custom-protocol --test tamper_random -- --nocapture 2>&1 |
  grep -E "tamper campaign|test result|panicked|case [0-9]+"
