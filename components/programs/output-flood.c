// Writes lines to stdout forever: the output cap must drop the excess and say so.
#include <stdio.h>

int main(void) {
  for (unsigned long line = 0;; line++) printf("flood line %lu: the quick brown fox jumps over the lazy dog\n", line);
}
