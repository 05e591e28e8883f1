// The smallest command: one line on stdout, exit code 0.
#include <stdio.h>

int main(void) {
  puts("hello from a component");
  return 0;
}
