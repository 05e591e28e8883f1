// Copies stdin to stdout, then exits 0.
#include <stdio.h>

int main(void) {
  char buffer[4096];
  size_t count;
  while ((count = fread(buffer, 1, sizeof buffer, stdin)) > 0) fwrite(buffer, 1, count, stdout);
  return 0;
}
