/** A one-shot signal: `fire()` resolves `fired` once; later fires are ignored. */
export class Signal {
  readonly fired: Promise<void>;
  private resolve!: () => void;
  private done = false;

  constructor() {
    this.fired = new Promise<void>((resolve) => (this.resolve = resolve));
  }

  get isFired(): boolean {
    return this.done;
  }

  fire(): void {
    if (this.done) return;
    this.done = true;
    this.resolve();
  }
}

export function sleepUnless(delayMs: number, signal: Signal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, delayMs);
    void signal.fired.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
