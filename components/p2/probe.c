// One command component with a sub-command per behaviour the component host
// must get right; the tests drive it through args.
//   probe args             print each argument on its own line
//   probe env              print the whole environment, one VAR=value a line
//   probe exit N           exit with status N
//   probe cat              copy stdin to stdout
//   probe read PATH        print the file at PATH
//   probe write PATH TEXT  create or truncate PATH and write TEXT
//   probe ls DIR           list DIR, one name a line (unsorted)
//   probe stderr TEXT      print TEXT on stderr
//   probe spin             loop forever (fuel, timeout)
//   probe grow             allocate 1 MiB blocks until malloc fails, then touch NULL
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int fail(const char *what, const char *path) {
  fprintf(stderr, "%s %s: %s\n", what, path, strerror(errno));
  return 2;
}

static int cat_file(FILE *in) {
  char buffer[4096];
  size_t count;
  while ((count = fread(buffer, 1, sizeof buffer, in)) > 0) fwrite(buffer, 1, count, stdout);
  return 0;
}

static int list(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) return fail("opendir", path);
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) puts(entry->d_name);
  }
  closedir(dir);
  return 0;
}

static volatile unsigned long spins;
// Where grow keeps its blocks, so the compiler cannot drop the allocations.
static char *volatile last_block;

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  const char *command = argv[1];
  if (!strcmp(command, "args")) {
    for (int i = 0; i < argc; i++) puts(argv[i]);
    return 0;
  }
  if (!strcmp(command, "env")) {
    for (char **variable = environ; *variable; variable++) puts(*variable);
    return 0;
  }
  if (!strcmp(command, "exit") && argc == 3) return atoi(argv[2]);
  if (!strcmp(command, "cat")) return cat_file(stdin);
  if (!strcmp(command, "read") && argc == 3) {
    FILE *in = fopen(argv[2], "r");
    if (!in) return fail("open", argv[2]);
    cat_file(in);
    fclose(in);
    return 0;
  }
  if (!strcmp(command, "write") && argc == 4) {
    FILE *out = fopen(argv[2], "w");
    if (!out) return fail("open", argv[2]);
    fputs(argv[3], out);
    return fclose(out) == 0 ? 0 : fail("close", argv[2]);
  }
  if (!strcmp(command, "ls") && argc == 3) return list(argv[2]);
  if (!strcmp(command, "stderr") && argc == 3) {
    fputs(argv[2], stderr);
    return 0;
  }
  if (!strcmp(command, "spin")) {
    for (;;) spins++;
  }
  if (!strcmp(command, "grow")) {
    unsigned long total = 0;
    for (;;) {
      char *block = malloc(1 << 20);
      if (!block) break;
      memset(block, 1, 1 << 20);
      last_block = block;
      total += 1 << 20;
    }
    fprintf(stderr, "malloc failed after %lu bytes\n", total);
    return 3;
  }
  return 64;
}
