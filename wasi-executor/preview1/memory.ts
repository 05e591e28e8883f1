/** Bounds-checked access to a guest's linear memory; out of bounds is EFAULT, never a host exception. */
import { Errno, WasiError } from './errno.js';

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

export class GuestMemory {
  private buffer: ArrayBuffer | undefined;
  private dataView: DataView | undefined;
  private byteView: Uint8Array | undefined;

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** memory.grow detaches the old buffer: views are rebuilt when that happened. */
  private refresh(): void {
    const current = this.memory.buffer;
    if (current === this.buffer) return;
    this.buffer = current;
    this.dataView = new DataView(current);
    this.byteView = new Uint8Array(current);
  }

  private check(pointer: number, length: number): void {
    this.refresh();
    if (pointer < 0 || length < 0 || pointer + length > this.buffer!.byteLength) {
      throw new WasiError(Errno.FAULT);
    }
  }

  view(pointer: number, length: number): DataView {
    this.check(pointer, length);
    return this.dataView!;
  }

  /** A live view of guest bytes (no copy): valid until the guest's memory grows. */
  bytes(pointer: number, length: number): Uint8Array {
    this.check(pointer, length);
    return this.byteView!.subarray(pointer, pointer + length);
  }

  u8(pointer: number): number {
    return this.view(pointer, 1).getUint8(pointer);
  }

  u16(pointer: number): number {
    return this.view(pointer, 2).getUint16(pointer, true);
  }

  u32(pointer: number): number {
    return this.view(pointer, 4).getUint32(pointer, true);
  }

  u64(pointer: number): bigint {
    return this.view(pointer, 8).getBigUint64(pointer, true);
  }

  setU8(pointer: number, value: number): void {
    this.view(pointer, 1).setUint8(pointer, value);
  }

  setU16(pointer: number, value: number): void {
    this.view(pointer, 2).setUint16(pointer, value, true);
  }

  setU32(pointer: number, value: number): void {
    this.view(pointer, 4).setUint32(pointer, value, true);
  }

  setU64(pointer: number, value: bigint): void {
    this.view(pointer, 8).setBigUint64(pointer, BigInt.asUintN(64, value), true);
  }

  /** A guest string; invalid UTF-8 is EILSEQ in POSIX, EINVAL here (WASI paths are UTF-8). */
  string(pointer: number, length: number): string {
    try {
      return textDecoder.decode(this.bytes(pointer, length));
    } catch (error) {
      if (error instanceof WasiError) throw error;
      throw new WasiError(Errno.INVAL);
    }
  }

  /** The buffers an iovec array names (pointer, length pairs of u32), as live views. */
  iovecs(pointer: number, count: number): Uint8Array[] {
    const views: Uint8Array[] = [];
    for (let index = 0; index < count; index++) {
      const base = this.u32(pointer + index * 8);
      const length = this.u32(pointer + index * 8 + 4);
      views.push(this.bytes(base, length));
    }
    return views;
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}
