// CPU-bound kernel: sieve of Eratosthenes, repeated. Memory-bound inner loops.
// Usage: sieve [LIMIT=10000000] [REPEATS=12]; prints the prime count and a checksum.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static unsigned count_primes(unsigned char *composite, unsigned limit) {
  memset(composite, 0, limit + 1);
  unsigned count = 0;
  for (unsigned i = 2; i <= limit; i++) {
    if (composite[i]) continue;
    count++;
    for (unsigned long long j = (unsigned long long)i * i; j <= limit; j += i) composite[j] = 1;
  }
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
