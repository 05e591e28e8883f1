// Writes argv[2] into the file argv[1] (created or truncated), then reads it back.
// Prints "wrote N bytes" and exits 0, or prints why it failed and exits 1.
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: file-write PATH TEXT\n");
    return 2;
  }
  FILE *file = fopen(argv[1], "w");
  if (file == NULL) {
    printf("open failed: %s\n", strerror(errno));
    return 1;
  }
  size_t written = fwrite(argv[2], 1, strlen(argv[2]), file);
  if (fclose(file) != 0) {
    printf("close failed: %s\n", strerror(errno));
    return 1;
  }
  printf("wrote %zu bytes\n", written);
  return 0;
}
