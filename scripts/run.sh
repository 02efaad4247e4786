#!/usr/bin/env bash
# Sets up and runs Keyloom's desktop app on a fresh Debian 12 machine: installs what it needs,
# builds the frontend and a release binary (the frontend embedded), and starts it. Without a
# display it runs under Xvfb (1280x800). `scripts/run.sh --cli ARGS…` runs the `keyloom` CLI
# instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ "${1:-}" = "--cli" ]; then
  shift
  cargo build --release --locked -p keyloom-cli
  if [ $# -eq 0 ]; then set -- --help; fi
  exec target/release/keyloom "$@"
fi
(cd frontend && npm run --silent build)
cargo build --release --locked -p keyloom-desktop --features tauri/custom-protocol
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec target/release/keyloom-desktop
fi
echo "No display: starting Keyloom under Xvfb (screen 1280x800)."
exec xvfb-run -a -s "-screen 0 1280x800x24" target/release/keyloom-desktop
