// Walks the filesystem calls a real program makes, inside the preopen "/work" (read-write),
// printing one line per step; any failure prints "FAIL step: errno text" and exits 1.
// Also sleeps 20 ms (poll_oneoff) and reads the clocks.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void check(int ok, const char *step) {
  if (!ok) {
    printf("FAIL %s: %s\n", step, strerror(errno));
    exit(1);
  }
  printf("ok %s\n", step);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void) {
  check(mkdir("/work/dir", 0755) == 0, "mkdir");
  check(mkdir("/work/dir", 0755) != 0 && errno == EEXIST, "mkdir twice is EEXIST");
  FILE *file = fopen("/work/dir/a.txt", "w");
  check(file != NULL, "create file");
  check(fputs("0123456789", file) >= 0 && fclose(file) == 0, "write and close");
  struct stat info;
  check(stat("/work/dir/a.txt", &info) == 0 && info.st_size == 10 && S_ISREG(info.st_mode), "stat size 10");
  int fd = open("/work/dir/a.txt", O_RDWR);
  check(fd >= 0, "open read-write");
  check(lseek(fd, 4, SEEK_SET) == 4, "seek to 4");
  char buffer[8] = {0};
  check(read(fd, buffer, 3) == 3 && memcmp(buffer, "456", 3) == 0, "read 456 at 4");
  check(ftruncate(fd, 5) == 0 && fstat(fd, &info) == 0 && info.st_size == 5, "ftruncate to 5");
  check(close(fd) == 0, "close");
  check(rename("/work/dir/a.txt", "/work/dir/b.txt") == 0, "rename");
  check(access("/work/dir/a.txt", F_OK) != 0 && errno == ENOENT, "old name gone");
  check(symlink("b.txt", "/work/dir/link") == 0, "symlink inside");
  char target[64] = {0};
  check(readlink("/work/dir/link", target, sizeof target - 1) == 5 && strcmp(target, "b.txt") == 0, "readlink");
  check(stat("/work/dir/link", &info) == 0 && info.st_size == 5, "stat follows the link");
  check(lstat("/work/dir/link", &info) == 0 && S_ISLNK(info.st_mode), "lstat sees the link");
  check(mkdir("/work/dir/sub", 0755) == 0, "mkdir sub");
  DIR *dir = opendir("/work/dir");
  check(dir != NULL, "opendir");
  char *names[16];
  int count = 0;
  for (struct dirent *entry; (entry = readdir(dir)) != NULL && count < 16;) names[count++] = strdup(entry->d_name);
  closedir(dir);
  qsort(names, count, sizeof names[0], compare_names);
  printf("entries:");
  for (int index = 0; index < count; index++) printf(" %s", names[index]);
  printf("\n");
  check(rmdir("/work/dir") != 0 && errno == ENOTEMPTY, "rmdir non-empty is ENOTEMPTY");
  check(unlink("/work/dir/link") == 0 && unlink("/work/dir/b.txt") == 0, "unlink");
  check(rmdir("/work/dir/sub") == 0 && rmdir("/work/dir") == 0, "rmdir");
  struct timespec before, after, pause = {0, 20 * 1000 * 1000};
  check(clock_gettime(CLOCK_MONOTONIC, &before) == 0, "monotonic clock");
  check(nanosleep(&pause, NULL) == 0, "sleep 20 ms");
  clock_gettime(CLOCK_MONOTONIC, &after);
  long elapsedMs = (after.tv_sec - before.tv_sec) * 1000 + (after.tv_nsec - before.tv_nsec) / 1000000;
  check(elapsedMs >= 19, "slept at least 20 ms");
  check(time(NULL) > 1700000000, "realtime clock is current");
  return 0;
}
