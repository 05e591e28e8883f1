#!/usr/bin/env bash
# WASI 0.2 command components: C built for wasm32-wasi (preview1), then
# adapted into a component with jco's bundled preview1 command adapter.
set -euo pipefail
cd "$(dirname "$0")"
out=../built/p2
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for source in *.c; do
  name=${source%.c}
  clang --target=wasm32-wasi -O2 -s -o "$work/$name.core.wasm" "$source"
  npx --no-install jco new "$work/$name.core.wasm" --wasi-command -o "$out/$name.wasm"
  echo "$out/$name.wasm: $(wc -c < "$out/$name.wasm") bytes"
done
