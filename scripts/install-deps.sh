#!/usr/bin/env bash
# Installs the system packages Keyloom's build and tests need on Debian 12 (idempotent).
# Rust (cargo, rustfmt, clippy) is expected to be installed already.
set -euo pipefail

packages=(
  build-essential pkg-config   # crates that build C code
  dbus dbus-user-session       # dbus-run-session, for the OS keyring test
  gnome-keyring                # a real Secret Service for "remember on this device"
  keyutils                     # kernel keyring tools
  openssl ca-certificates      # real peers for the PKI tests: openssl verify, the Debian CA bundle
  graphviz                     # `dot` renders the trust graph in the graph tests
  nginx-light curl age openssh-client   # real consumers of exported bundles
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
