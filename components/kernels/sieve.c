// CPU-bound kernel: sieve of Eratosthenes, repeated. Memory-bound inner loops.
// Usage: sieve [LIMIT=10000000] [REPEATS=12]; prints the prime count and a checksum.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The textbook sieve: cross off multiples of each prime up to sqrt(limit), then count.
// (An earlier version counted in the same loop that ran i up to limit; clang 14
// vectorizes its strided inner loop for wasm SIMD and strength-reduces the 16 lanes'
// addresses into that outer loop, which then carries ~36 induction variables through
// 10^7 iterations: V8 spills them, and the -msimd128 build ran 4.5x slower.)
__attribute__((noinline)) static unsigned count_primes(unsigned char *composite, unsigned limit) {
  memset(composite, 0, limit + 1);
  for (unsigned i = 2; (unsigned long long)i * i <= limit; i++) {
    if (composite[i]) continue;
    for (unsigned long long j = (unsigned long long)i * i; j <= limit; j += i) composite[j] = 1;
  }
  unsigned count = 0;
  for (unsigned i = 2; i <= limit; i++) count += !composite[i];
  return count;
}

int main(int argc, char **argv) {
  unsigned limit = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 10000000u;
  unsigned repeats = argc > 2 ? (unsigned)strtoul(argv[2], 0, 10) : 12u;
  unsigned char *composite = malloc(limit + 1);
  if (!composite) return 2;
  unsigned long long checksum = 0;
  unsigned count = 0;
  for (unsigned r = 0; r < repeats; r++) {
    count = count_primes(composite, limit - r);
    checksum = checksum * 31 + count;
  }
  printf("sieve limit=%u repeats=%u primes=%u checksum=%llu\n", limit, repeats, count, checksum);
  free(composite);
  return 0;
}
