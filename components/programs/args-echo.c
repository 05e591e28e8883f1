// Prints each argument after the program name on its own line, then exits 0.
#include <stdio.h>

int main(int argc, char **argv) {
  for (int index = 1; index < argc; index++) puts(argv[index]);
  return 0;
}
