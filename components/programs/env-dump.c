// Prints its whole environment, one NAME=value per line, then exits 0.
#include <stdio.h>

extern char **environ;

int main(void) {
  for (char **entry = environ; *entry != NULL; entry++) puts(*entry);
  return 0;
}
