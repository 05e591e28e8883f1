#!/usr/bin/env bash
# Builds the CPU-bound benchmark kernels (sieve, fib, matmul, hash) to wasm32-wasi
# into components/built/kernels/. bench/executor/fuel.ts builds the same sources
# natively (clang -O2) into a temporary directory, as does bench/executor/native.ts.
# Built with wasm SIMD (-msimd128, which every engine supports) since clang -O2
# vectorizes natively (SSE2) too; the same flags for every kernel.
# Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32.
set -euo pipefail
cd "$(dirname "$0")"
out=../built/kernels
mkdir -p "$out"
for source in sieve fib matmul hash; do
  clang --target=wasm32-wasi -O2 -msimd128 -o "$out/$source.wasm" "$source.c"
  echo "built $out/$source.wasm"
done
