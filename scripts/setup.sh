#!/usr/bin/env bash
# Installs what building and testing Cairn needs, when it is missing. Idempotent; downloads only
# from crates.io, rustup's dist server, Debian's archive, PyPI and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Rust's wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The wasm-bindgen CLI must match the library version pinned in Cargo.toml exactly.
want=$(grep -E '^wasm-bindgen = ' Cargo.toml | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (have: ${have:-none})"
  # Not --locked: its lock file pins a webpki-roots version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# Chromium for the end-to-end tests (Debian's; Playwright's own download cannot work offline).
if ! command -v chromium >/dev/null 2>&1; then
  say "installing chromium"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium
fi

# Playwright and wasm-opt (npm's binaryen; Debian's older wasm-opt breaks hydration).
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/@playwright/test ] \
   || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing the end-to-end npm packages"
  npm ci --prefix end2end --no-audit --no-fund
fi

# schemathesis (PyPI), which checks the REST API against its OpenAPI document.
venv=${CAIRN_VENV:-$HOME/.cache/cairn/venv}
if [ ! -x "$venv/bin/schemathesis" ] || [ scripts/requirements-test.txt -nt "$venv/.installed" ]; then
  say "installing the Python test tools into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  touch "$venv/.installed"
fi

# PostgreSQL for the integration tests on PostgreSQL.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  else
    say "installing PostgreSQL"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
# The build directory lives outside the clone and is reused between runs; when the disk under it runs
# low (old artifacts pile up as dependencies and profiles change), CI starts it afresh rather than
# fail half-way through a link.
target=${CARGO_TARGET_DIR:-$HOME/.cache/cairn/target}
mkdir -p "$target"
free_gb=$(df --output=avail -BG "$target" | tail -n1 | tr -dc '0-9')
used=$(du -sh "$target" 2>/dev/null | cut -f1)
say "build directory $target: ${used:-0} used, ${free_gb} GB free on its disk"
if [ "${CI:-}" = true ] && [ "$free_gb" -lt "${CAIRN_MIN_FREE_GB:-30}" ]; then
  say "less than ${CAIRN_MIN_FREE_GB:-30} GB free: removing the reused build directory"
  rm -rf "$target"
  mkdir -p "$target"
  say "now $(df --output=avail -BG "$target" | tail -n1 | tr -dc '0-9') GB free"
fi
say "setup complete"
