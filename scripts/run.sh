#!/usr/bin/env bash
# Sets up and runs Keyloom on a fresh Debian 12 machine: installs system packages, builds a
# release binary, and runs `keyloom` with the given arguments (default: --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked -p keyloom-cli
if [ $# -eq 0 ]; then set -- --help; fi
exec target/release/keyloom "$@"
