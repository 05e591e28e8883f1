#!/usr/bin/env bash
# Rebuilds every test and example program under components/ into components/built/.
# Each group of programs has its own components/<group>/build.sh; this runs them all.
# Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32 (and Node for `jco`).
# The built .wasm files are committed, so tests never need this toolchain.
set -euo pipefail
cd "$(dirname "$0")"
for script in */build.sh; do
  echo "== ${script%/build.sh}"
  bash "$script"
done
