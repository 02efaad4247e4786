#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: system packages, formatting, lints, build,
# then every unit, integration and end-to-end test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
# A one-off build gains nothing from incremental caches, which would double the target's size.
export CARGO_INCREMENTAL=0
echo "== disk before the build"; df -h . | tail -1

echo "== frontend: svelte-check, vitest, build"
# The Tauri crate embeds frontend/dist at compile time, so the frontend is built first.
(cd frontend && npm run --silent check && npm test --silent && npm run --silent build)

# One set of flags for every cargo call: the same features mean Tauri compiles once, and the
# custom-protocol feature embeds the built frontend in keyloom-desktop.
CARGO_FLAGS=(--workspace --locked --features tauri/custom-protocol)
echo "== cargo deny (licenses, bans, sources)"
cargo deny --workspace check licenses bans sources
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy "${CARGO_FLAGS[@]}" --all-targets -- -D warnings
echo "== cargo build"
# The cross-crate and end-to-end tests run the real binaries, so build them first.
cargo build "${CARGO_FLAGS[@]}" --all-targets
echo "== cargo test"
echo "== disk after the build"; df -h . | tail -1; du -sh target 2>/dev/null || true
# Graphviz builds its font cache on first use; do that once here, not inside parallel tests.
echo 'digraph { a -> b }' | dot -Tsvg >/dev/null
# Keep test state out of the real home directory.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
XDG_DATA_HOME="$scratch/data" XDG_CONFIG_HOME="$scratch/config" XDG_CACHE_HOME="$scratch/cache" \
  cargo test "${CARGO_FLAGS[@]}"
