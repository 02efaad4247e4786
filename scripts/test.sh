#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: system packages, formatting, lints, build,
# then every unit, integration and end-to-end test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build"
# The cross-crate tests run the real binaries, so build them first.
cargo build --workspace --all-targets --locked
echo "== cargo test"
# Graphviz builds its font cache on first use; do that once here, not inside parallel tests.
echo 'digraph { a -> b }' | dot -Tsvg >/dev/null
# Keep test state out of the real home directory.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
XDG_DATA_HOME="$scratch/data" XDG_CONFIG_HOME="$scratch/config" XDG_CACHE_HOME="$scratch/cache" \
  cargo test --workspace --locked
