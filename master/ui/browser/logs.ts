import { getLogs } from './api.js';
import { el } from './dom.js';
import { bytes } from './format.js';

/** Characters of one stream kept on the page; older text is cut from the top past this. */
export const LOG_CHARS_SHOWN_MAX = 2 * 1024 * 1024;
/** Chunks fetched back to back in one poll while a stream has more to give (catching up). */
export const LOG_CHUNKS_PER_POLL_MAX = 32;
/**
 * Bytes the page is willing to fetch behind the end of a stream. A page opened on a task that
 * already wrote more jumps ahead (saying how much it skipped): it would cut older text anyway.
 */
export const LOG_BYTES_BEHIND_MAX = LOG_CHARS_SHOWN_MAX / 2;

/**
 * Follows one output stream of a task (stdout or stderr): each poll asks the master for the
 * bytes after the last ones shown, appends them as text, and stops once the agent says the
 * stream is complete. Bytes are decoded as UTF-8 across chunk boundaries; text is appended to a
 * text node (never parsed as markup).
 */
export class LogFollower {
  readonly element: HTMLElement;
  private readonly output = document.createTextNode('');
  private readonly status = el('span', { class: 'muted' }, 'waiting for output…');
  private readonly pre: HTMLPreElement;
  private readonly decoder = new TextDecoder('utf-8');
  private nextOffset = 0;
  private trimmed = false;
  private done = false;

  constructor(
    private readonly taskId: string,
    readonly stream: 'stdout' | 'stderr',
  ) {
    this.pre = el('pre', { class: 'log' });
    this.pre.dataset['stream'] = stream;
    this.pre.appendChild(this.output);
    this.element = el(
      'section',
      {},
      el('div', { class: 'log-head' }, el('h2', {}, stream), this.status),
      this.pre,
    );
  }

  get complete(): boolean {
    return this.done;
  }

  async poll(signal: AbortSignal): Promise<void> {
    for (let chunks = 0; chunks < LOG_CHUNKS_PER_POLL_MAX && !this.done; chunks++) {
      let chunk;
      try {
        chunk = await getLogs(this.taskId, this.stream, this.nextOffset, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        this.status.textContent = `not available: ${(error as Error).message}`;
        return;
      }
      if (chunk.error !== undefined) {
        this.status.textContent = `the agent could not read it: ${chunk.error}`;
        return;
      }
      let text = '';
      if (chunk.offset > this.nextOffset)
        text += `[… ${bytes(chunk.offset - this.nextOffset)} no longer kept by the agent …]\n`;
      text += this.decoder.decode(chunk.data, { stream: true });
      this.nextOffset = chunk.offset + chunk.data.length;
      this.done = chunk.complete && this.nextOffset >= chunk.size;
      if (this.done) text += this.decoder.decode();
      if (chunk.size - this.nextOffset > LOG_BYTES_BEHIND_MAX) {
        const skipTo = chunk.size - LOG_BYTES_BEHIND_MAX;
        text += `${this.decoder.decode()}\n[… ${bytes(skipTo - this.nextOffset)} skipped: this page shows the last ${bytes(LOG_BYTES_BEHIND_MAX)}; \`wasmos logs\` has it all …]\n`;
        this.nextOffset = skipTo;
      }
      this.show(text);
      this.status.textContent = this.done
        ? `complete, ${bytes(chunk.size)}`
        : `following, ${bytes(chunk.size)} so far`;
      if (chunk.data.length === 0 || this.nextOffset >= chunk.size) return;
    }
  }

  private show(text: string): void {
    if (text === '') return;
    const atBottom = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
    this.output.appendData(text);
    const excess = this.output.length - LOG_CHARS_SHOWN_MAX;
    if (excess > 0) {
      this.output.deleteData(0, excess);
      if (!this.trimmed) {
        this.trimmed = true;
        this.element.insertBefore(
          el('p', { class: 'muted' }, 'Older output is cut; the agent keeps the whole file.'),
          this.pre,
        );
      }
    }
    if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
  }
}
