#!/usr/bin/env bash
# The long crash-safety campaign: SIGKILLs the real keyloom binary at random moments during single
# and bulk mutations, N times (default 500), checking the vault after each kill. CI runs 30 of them
# as part of the test suite. Usage: scripts/crash-test.sh [KILLS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-500}
seed=${2:-$RANDOM$RANDOM}
cargo build --locked --workspace --features tauri/custom-protocol --bins --quiet
KEYLOOM_CRASH_KILLS=$kills KEYLOOM_CRASH_SEED=$seed \
  cargo test --locked --workspace --features tauri/custom-protocol --test crash -- --nocapture 2>&1 |
  grep -E "crash campaign|test result|panicked|kill [0-9]+"
