// Spins forever without calling the host: only fuel or the wall-clock timeout can stop it.
int main(void) {
  volatile unsigned long counter = 0;
  for (;;) counter++;
}
