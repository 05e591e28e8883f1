// Tries to leave its preopen (guest "/sandbox") in every way a path allows and reports each
// attempt as "NAME: blocked (errno text)" or "NAME: ESCAPED". Exits 0 when all were blocked,
// 1 otherwise. The test preopens a directory holding a symlink "link-out" to a directory
// outside it, which holds "secret.txt".
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int escaped = 0;

static void attempt_open(const char *name, const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    printf("%s: ESCAPED\n", name);
    escaped = 1;
    close(fd);
  } else {
    printf("%s: blocked (%s)\n", name, strerror(errno));
  }
}

static void attempt_create(const char *name, const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    printf("%s: ESCAPED\n", name);
    escaped = 1;
    close(fd);
  } else {
    printf("%s: blocked (%s)\n", name, strerror(errno));
  }
}

int main(void) {
  attempt_open("dotdot", "/sandbox/../secret.txt");
  attempt_open("dotdot-deep", "/sandbox/inside/../../secret.txt");
  attempt_open("absolute", "/etc/passwd");
  attempt_open("symlink-out", "/sandbox/link-out/secret.txt");
  attempt_open("symlink-abs", "/sandbox/link-abs");
  attempt_create("create-through-symlink", "/sandbox/link-out/planted.txt");
  if (symlink("/etc/passwd", "/sandbox/planted-link") == 0) {
    printf("symlink-plant-absolute: ESCAPED\n");
    escaped = 1;
  } else {
    printf("symlink-plant-absolute: blocked (%s)\n", strerror(errno));
  }
  if (symlink("../../..", "/sandbox/planted-up") == 0) {
    printf("symlink-plant-relative: ESCAPED\n");
    escaped = 1;
  } else {
    printf("symlink-plant-relative: blocked (%s)\n", strerror(errno));
  }
  if (rename("/sandbox/inside", "/sandbox/../moved") == 0) {
    printf("rename-out: ESCAPED\n");
    escaped = 1;
  } else {
    printf("rename-out: blocked (%s)\n", strerror(errno));
  }
  return escaped;
}
