// Recurses without bound, keeping its state in wasm locals (not C's shadow stack in linear
// memory), so the engine's own stack overflows: must end with stack_overflow, contained.
#include <stdio.h>

volatile unsigned long sink = 1;

__attribute__((noinline)) static unsigned long descend(unsigned long depth) {
  if (sink == 0) return depth;
  // Work after the call (a volatile read) keeps the compiler from turning this into a loop.
  return descend(depth + 1) ^ sink;
}

int main(void) {
  printf("%lu\n", descend(0));
  return 0;
}
