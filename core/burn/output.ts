// Where the afterburned text goes. The transform describes its output as a walk over the input:
// unchanged ranges of it, and inserted text between them. Joined into one string that is what
// afterburn() returns; written to a file it never becomes one string at all. A fresh string the
// output's size (megabytes for a large kernel file) takes freshly mapped pages on every call,
// which costs more than the whole line scan; the file writer instead fills one small buffer,
// reused across calls so its pages stay mapped, and hands it to write(2) each time it is full.

import { writeSync } from "node:fs";

/** Receives the output in order. */
export interface Splice {
  /** The input's text from `from` up to `to`, unchanged. */
  copy(from: number, to: number): void;
  /** Text of the transform's own. */
  insert(text: string): void;
}

/** Collects the output as one string: the pieces are joined once at the end. */
export class StringSplice implements Splice {
  private readonly pieces: string[] = [];

  constructor(private readonly text: string) {}

  copy(from: number, to: number): void {
    this.pieces.push(this.text.slice(from, to));
  }

  insert(text: string): void {
    this.pieces.push(text);
  }

  result(): string {
    return this.pieces.join("");
  }
}

/**
 * Chunk size of the file writer: small enough that its pages cost nothing to map even in a
 * fresh process (afterburn-cc burns one file per process), large enough that write(2) calls stay few.
 */
const CHUNK = 64 * 1024;
/** Input ranges at least this long are written straight from the input's bytes, not copied into the chunk. */
const DIRECT = 16 * 1024;

/** The one chunk buffer, kept across calls: writing is synchronous, so no two writers ever share it. */
let pooled: Buffer | undefined;

/**
 * Writes the output to a file descriptor as UTF-8, exactly the bytes writeFileSync(fd, joinedString)
 * would write: unpaired surrogates become U+FFFD, and a surrogate pair that straddles two pieces
 * is encoded as the one character it is in the joined string.
 */
export class FileSplice implements Splice {
  private readonly chunk: Buffer;
  /** bytes as a plain Uint8Array: its subarray() skips Buffer's subclass constructor, once per copied range. */
  private readonly bytes: Uint8Array | undefined;
  private used = 0;
  private written = 0;
  /** A high surrogate that ended the last piece, held back until the next piece says whether it is paired. */
  private high = 0;

  /**
   * @param text the input
   * @param bytes the input's bytes, when it is pure ASCII: text offset = byte offset, so ranges copy as bytes
   * @param asciiText text is pure ASCII (set whenever bytes is): its ranges encode one byte per character
   */
  constructor(
    private readonly fd: number,
    private readonly text: string,
    bytes: Uint8Array | undefined,
    private readonly asciiText: boolean,
  ) {
    this.bytes = bytes && new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.chunk = pooled ??= Buffer.allocUnsafeSlow(CHUNK);
  }

  copy(from: number, to: number): void {
    if (from >= to) return;
    const bytes = this.bytes;
    if (bytes === undefined) {
      this.putString(this.text, from, to, this.asciiText);
      return;
    }
    if (this.high !== 0) this.releaseHigh();
    const n = to - from;
    if (n >= DIRECT) {
      this.flush();
      this.writeOut(bytes, from, n);
      return;
    }
    if (this.used + n > CHUNK) this.flush();
    this.chunk.set(bytes.subarray(from, to), this.used);
    this.used += n;
  }

  insert(text: string): void {
    this.putString(text, 0, text.length, false);
  }

  /** Writes what is still buffered; returns the number of bytes written in all. */
  finish(): number {
    if (this.high !== 0) this.releaseHigh();
    this.flush();
    return this.written;
  }

  private putString(s: string, from: number, to: number, ascii: boolean): void {
    if (from >= to) return;
    if (!ascii) {
      if (this.high !== 0) {
        if ((s.charCodeAt(from) & 0xfc00) === 0xdc00) {
          this.encode(String.fromCharCode(this.high, s.charCodeAt(from)), 0, 2, false);
          this.high = 0;
          from++;
        } else this.releaseHigh();
      }
      const last = s.charCodeAt(to - 1);
      if (from < to && (last & 0xfc00) === 0xd800) {
        this.high = last;
        to--;
      }
    } else if (this.high !== 0) this.releaseHigh();
    this.encode(s, from, to, ascii);
  }

  /** The held-back high surrogate turned out unpaired: written as the joined string's encoding writes it. */
  private releaseHigh(): void {
    const high = String.fromCharCode(this.high);
    this.high = 0;
    this.encode(high, 0, 1, false);
  }

  /** Encodes s[from, to) into the chunk, flushing as it fills; never splits a surrogate pair between two writes. */
  private encode(s: string, from: number, to: number, ascii: boolean): void {
    const perChar = ascii ? 1 : 3; // UTF-8 bytes per UTF-16 unit, at most
    const encoding = ascii ? "latin1" : "utf8";
    while (from < to) {
      let room = ((CHUNK - this.used) / perChar) | 0;
      if (room < to - from && room < 256) {
        this.flush(); // nearly full: start a fresh chunk rather than write a sliver
        room = (CHUNK / perChar) | 0;
      }
      let end = to - from <= room ? to : from + room;
      if (end < to && !ascii && (s.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
      const piece = from === 0 && end === s.length ? s : s.slice(from, end);
      this.used += this.chunk.write(piece, this.used, encoding);
      from = end;
    }
  }

  private flush(): void {
    if (this.used === 0) return;
    this.writeOut(this.chunk, 0, this.used);
    this.used = 0;
  }

  private writeOut(data: Uint8Array, offset: number, length: number): void {
    while (length > 0) {
      const n = writeSync(this.fd, data, offset, length);
      offset += n;
      length -= n;
      this.written += n;
    }
  }
}
