// Prints one line and exits 0: the smallest useful task (latency benchmark, smoke tests).
#include <stdio.h>

int main(void) {
  puts("hello from wasm");
  return 0;
}
