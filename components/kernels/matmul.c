// CPU-bound kernel: dense double matrix multiply (i-k-j order), repeated.
// Usage: matmul [N=300] [REPEATS=40]; prints a checksum of the product.
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void multiply(const double *a, const double *b, double *c, unsigned n) {
  for (unsigned i = 0; i < n * n; i++) c[i] = 0;
  for (unsigned i = 0; i < n; i++)
    for (unsigned k = 0; k < n; k++) {
      double aik = a[i * n + k];
      for (unsigned j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
}

int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 300u;
  unsigned repeats = argc > 2 ? (unsigned)strtoul(argv[2], 0, 10) : 40u;
  double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n);
  double *c = malloc(sizeof(double) * n * n);
  if (!a || !b || !c) return 2;
  for (unsigned i = 0; i < n * n; i++) {
    a[i] = (double)(i % 17) / 16.0 - 0.5;
    b[i] = (double)(i % 13) / 12.0 - 0.25;
  }
  double checksum = 0;
  for (unsigned r = 0; r < repeats; r++) {
    multiply(a, b, c, n);
    for (unsigned i = 0; i < n * n; i += n + 1) checksum += c[i];
    a[r % (n * n)] += 1.0;
  }
  printf("matmul n=%u repeats=%u checksum=%.6f\n", n, repeats, checksum);
  free(a);
  free(b);
  free(c);
  return 0;
}
