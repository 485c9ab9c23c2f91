#!/usr/bin/env bash
# Builds the browser bundle (wasm + JS glue + CSS + public assets) into $LEPTOS_SITE_ROOT and the
# server binary. Usage: scripts/build-site.sh [release|debug|test]. The same steps cargo-leptos
# takes, with tools installed by scripts/setup.sh. `test` (what `make test` serves) is a debug
# server, sharing its compiled dependencies with the integration tests, and a size-optimized wasm
# without the release profile's whole-program optimization.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-release}
target_dir=${CARGO_TARGET_DIR:-target}
site=${LEPTOS_SITE_ROOT:-$target_dir/site}
export PATH="$PWD/end2end/node_modules/.bin:$PATH"

case "$mode" in
  release) wasm_profile=wasm-release; server_flag=--release ;;
  test) wasm_profile=wasm-test; server_flag= ;;
  debug) wasm_profile=dev; server_flag= ;;
  *) echo "usage: $0 [release|debug|test]" >&2; exit 2 ;;
esac
wasm_dir=$target_dir/wasm32-unknown-unknown/$([ "$wasm_profile" = dev ] && echo debug || echo "$wasm_profile")

cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-name cairn --out-dir "$site/pkg" "$wasm_dir/frontend.wasm"
if [ "$mode" = release ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    -o "$site/pkg/cairn_bg.wasm" "$site/pkg/cairn_bg.wasm"
fi
cp style/main.css "$site/pkg/cairn.css"
# Served as is to browsers that accept gzip (leptos_axum's file handler looks for `.gz` beside
# each file): compressing the test build's 30 MB wasm on every request took a debug server 11 s.
gzip -kf -6 "$site/pkg/cairn_bg.wasm" "$site/pkg/cairn.js" "$site/pkg/cairn.css"
cp -R public/. "$site/"
cargo build -p server $server_flag
echo "site built in $site"
