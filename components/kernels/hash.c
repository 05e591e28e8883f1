// CPU-bound kernel: 64-bit hash mixing over a buffer (xorshift-multiply rounds), repeated.
// Usage: hash [BYTES=1048576] [REPEATS=2000]; prints a checksum.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static uint64_t mix_buffer(const uint64_t *words, unsigned count, uint64_t seed) {
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
  for (unsigned i = 0; i < count; i++) {
    uint64_t k = words[i] * 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    h ^= k;
    h = (h << 27) | (h >> 37);
    h = h * 5 + 0x52dce729;
  }
  h ^= h >> 33;
  return h;
}

int main(int argc, char **argv) {
  unsigned bytes = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 1048576u;
  unsigned repeats = argc > 2 ? (unsigned)strtoul(argv[2], 0, 10) : 2000u;
  unsigned count = bytes / 8;
  uint64_t *words = malloc(sizeof(uint64_t) * count);
  if (!words) return 2;
  uint64_t state = 88172645463325252ull;
  for (unsigned i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    words[i] = state;
  }
  uint64_t checksum = 0;
  for (unsigned r = 0; r < repeats; r++) checksum = mix_buffer(words, count, checksum + r);
  printf("hash bytes=%u repeats=%u checksum=%llu\n", bytes, repeats, (unsigned long long)checksum);
  free(words);
  return 0;
}
