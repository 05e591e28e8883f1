// Opens the file argv[1] and then spins forever holding it open: a task that must be
// terminated (timeout or kill) while it holds a host file descriptor.
#include <fcntl.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror("open");
    return 1;
  }
  puts("holding");
  fflush(stdout);
  volatile unsigned long counter = 0;
  for (;;) counter++;
}
