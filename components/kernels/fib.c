// CPU-bound kernel: naive recursive Fibonacci (call-heavy: a call per few instructions).
// Usage: fib [N=38] [REPEATS=3]; prints fib(N) and a checksum.
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned long long fib(unsigned n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 38u;
  unsigned repeats = argc > 2 ? (unsigned)strtoul(argv[2], 0, 10) : 3u;
  unsigned long long checksum = 0, value = 0;
  for (unsigned r = 0; r < repeats; r++) {
    value = fib(n - (r & 1));
    checksum = checksum * 31 + value;
  }
  printf("fib n=%u repeats=%u value=%llu checksum=%llu\n", n, repeats, value, checksum);
  return 0;
}
