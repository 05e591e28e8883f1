#!/usr/bin/env bash
# Function-style handler components (world wasmos:handler/handler in
# wit/handler.wit), written in JavaScript and built with componentize-js
# (StarlingMonkey inside: about 12 MB per component, about 15 s to build).
set -euo pipefail
cd "$(dirname "$0")"
out=../built/handlers
mkdir -p "$out"
for source in *.js; do
  name=${source%.js}
  node componentize.mjs "$source" ../../wit/handler.wit handler "$out/$name.wasm"
done
