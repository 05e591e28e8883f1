#!/usr/bin/env bash
# Builds the C test programs into components/built/programs/ as WASI preview1 command
# modules (clang --target=wasm32-wasi -O2). The outputs are committed: tests never need clang.
set -euo pipefail
cd "$(dirname "$0")"
out=../built/programs
mkdir -p "$out"
for source in *.c; do
  name="${source%.c}"
  clang --target=wasm32-wasi -O2 -Wl,--strip-debug -o "$out/$name.wasm" "$source"
  echo "built $out/$name.wasm"
done
