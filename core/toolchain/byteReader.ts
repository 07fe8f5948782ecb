// A bounds-checked little-endian cursor over bytes: every read past the end becomes an ElfError
// naming the file and what was being read, instead of a RangeError or a silent undefined.
import { ElfError } from "./errors.js";

export type ErrorFactory = (detail: string) => ElfError;

export class ByteReader {
  private readonly view: DataView;
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    private readonly fail: ErrorFactory,
    /** What is being read, for messages ("section .debug_line"). */
    readonly what: string,
    start = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get length(): number {
    return this.bytes.length;
  }

  get atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  error(detail: string): ElfError {
    return this.fail(detail);
  }

  private need(n: number, field: string): number {
    const at = this.pos;
    if (!Number.isInteger(at) || at < 0 || n < 0 || at + n > this.bytes.length) {
      throw this.fail(`${this.what} is truncated: reading ${field} needs ${n} byte(s) at offset 0x${at.toString(16)}, but it is only 0x${this.bytes.length.toString(16)} bytes long`);
    }
    this.pos = at + n;
    return at;
  }

  u8(field = "a byte"): number {
    return this.view.getUint8(this.need(1, field));
  }
  i8(field = "a byte"): number {
    return this.view.getInt8(this.need(1, field));
  }
  u16(field = "a 16-bit value"): number {
    return this.view.getUint16(this.need(2, field), true);
  }
  u32(field = "a 32-bit value"): number {
    return this.view.getUint32(this.need(4, field), true);
  }
  i32(field = "a 32-bit value"): number {
    return this.view.getInt32(this.need(4, field), true);
  }
  /** Unsigned 64-bit value as a number; values beyond 2^53 are refused rather than rounded. */
  u64(field = "a 64-bit value"): number {
    const v = this.view.getBigUint64(this.need(8, field), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw this.fail(`${this.what}: ${field} 0x${v.toString(16)} is beyond 2^53, which this reader does not represent`);
    }
    return Number(v);
  }
  /** Signed 64-bit value (RELA addends) as a number, refused beyond ±2^53. */
  i64(field = "a 64-bit value"): number {
    const v = this.view.getBigInt64(this.need(8, field), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw this.fail(`${this.what}: ${field} ${v} is beyond ±2^53, which this reader does not represent`);
    }
    return Number(v);
  }
  /** A word of the file's class: 4 bytes for ELF32, 8 for ELF64. */
  word(size: 4 | 8, field?: string): number {
    return size === 4 ? this.u32(field) : this.u64(field);
  }
  /** An unsigned value of 1, 2, 4 or 8 bytes. */
  unsigned(size: number, field = "a value"): number {
    switch (size) {
      case 1:
        return this.u8(field);
      case 2:
        return this.u16(field);
      case 4:
        return this.u32(field);
      case 8:
        return this.u64(field);
      default:
        throw this.fail(`${this.what}: unsupported ${size}-byte size for ${field}`);
    }
  }
  uleb(field = "a ULEB128 value"): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8(field);
      result += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) break;
      if (scale > 2 ** 63) throw this.fail(`${this.what}: ${field} at offset 0x${(this.pos - 1).toString(16)} is an overlong LEB128`);
    }
    if (result > Number.MAX_SAFE_INTEGER) throw this.fail(`${this.what}: ${field} is beyond 2^53`);
    return result;
  }
  sleb(field = "a SLEB128 value"): number {
    let result = 0;
    let scale = 1;
    let b: number;
    do {
      b = this.u8(field);
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (scale > 2 ** 63 && b & 0x80) throw this.fail(`${this.what}: ${field} at offset 0x${(this.pos - 1).toString(16)} is an overlong LEB128`);
    } while (b & 0x80);
    if (b & 0x40) result -= scale;
    if (!Number.isSafeInteger(result)) throw this.fail(`${this.what}: ${field} is beyond ±2^53`);
    return result;
  }
  /** NUL-terminated string (UTF-8). */
  cstring(field = "a string"): string {
    const start = this.pos;
    const end = this.bytes.indexOf(0, start);
    if (start < 0 || start > this.bytes.length || end < 0) {
      throw this.fail(`${this.what}: ${field} at offset 0x${start.toString(16)} has no terminating NUL before the end`);
    }
    this.pos = end + 1;
    return decoder.decode(this.bytes.subarray(start, end));
  }
  bytesOf(n: number, field = "bytes"): Uint8Array {
    const at = this.need(n, field);
    return this.bytes.subarray(at, at + n);
  }
  skip(n: number, field = "bytes"): void {
    this.need(n, field);
  }
}

const decoder = new TextDecoder("utf-8");

/** NUL-terminated string at an offset of a string table, with a clear error when out of range. */
export function stringAt(table: Uint8Array, offset: number, fail: ErrorFactory, tableName: string): string {
  if (!Number.isInteger(offset) || offset < 0 || offset >= table.length) {
    throw fail(`string offset 0x${offset.toString(16)} is outside ${tableName} (size 0x${table.length.toString(16)})`);
  }
  const end = table.indexOf(0, offset);
  if (end < 0) throw fail(`string at offset 0x${offset.toString(16)} in ${tableName} has no terminating NUL`);
  return decoder.decode(table.subarray(offset, end));
}
