/**
 * A page of the UI: its element, and how to bring it up to date. The router (main.ts) calls
 * `refresh` once when the page opens and then every poll until the user leaves; the signal is
 * aborted when they do, so a slow answer never draws over the next page.
 */
export interface View {
  readonly element: HTMLElement;
  refresh(signal: AbortSignal): Promise<void>;
}
