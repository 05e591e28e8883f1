// Allocates 1 MiB blocks, touching every page and keeping them all, until malloc fails;
// then exits 12 (ENOMEM). Under a memory cap it must end with reason memory_limit.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  void **head = NULL;
  size_t blocks = 0;
  for (;;) {
    volatile char *block = malloc(1 << 20);
    if (block == NULL) break;
    for (size_t offset = 0; offset < (1 << 20); offset += 4096) block[offset] = (char)offset;
    *(void **)block = head;
    head = (void **)block;
    blocks++;
  }
  fprintf(stderr, "malloc failed after %zu MiB (last block at %p)\n", blocks, (void *)head);
  return 12;
}
