#!/usr/bin/env bash
# Prints the raw and brotli-compressed size of the hydrate wasm and its JS glue.
set -euo pipefail
site=${LEPTOS_SITE_ROOT:-${CARGO_TARGET_DIR:-target}/site}
brotli_size() { python3 -c 'import sys,brotli;print(len(brotli.compress(open(sys.argv[1],"rb").read(),quality=11)))' "$1" 2>/dev/null \
  || node -e 'const z=require("zlib"),f=require("fs");console.log(z.brotliCompressSync(f.readFileSync(process.argv[1]),{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length)' "$1"; }
printf '%-16s %12s %12s\n' file raw brotli
for f in cairn_bg.wasm cairn.js cairn.css; do
  path="$site/pkg/$f"
  printf '%-16s %12s %12s\n' "$f" "$(stat -c %s "$path")" "$(brotli_size "$path")"
done
