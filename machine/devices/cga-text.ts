// CGA 80×25 text mode: the frame buffer at 0xB8000 is plain RAM (character, attribute pairs);
// the CRTC at 0x3D4/0x3D5 holds the display start and the cursor; 0x3DA reports retrace, which
// toggles on every read so polling guests make progress.

import type { AccessSize } from "../bus.js";
import type { IoBus, PortDevice } from "../io.js";

export const CGA_TEXT_BASE = 0xb8000;
export const CGA_COLUMNS = 80;
export const CGA_ROWS = 25;

/** Code page 437, 0x80–0xFF, as the text-mode font draws it. */
const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";
/** 0x01–0x1F as glyphs (smileys, arrows...). */
const CP437_LOW = "☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼";

export function cp437(byte: number): string {
  if (byte === 0) return " ";
  if (byte < 0x20) return CP437_LOW[byte - 1];
  if (byte === 0x7f) return "⌂";
  if (byte < 0x80) return String.fromCharCode(byte);
  return CP437_HIGH[byte - 0x80];
}

export interface CaptureOptions {
  /** Drop trailing spaces on each row and trailing empty rows (default false: exactly 80×25). */
  trim?: boolean;
}

export class CgaText implements PortDevice {
  private index = 0;
  private regs = new Array<number>(18).fill(0);
  private retrace = 0;

  constructor(private readonly readBytes: (addr: number, length: number) => Uint8Array) {
    this.regs[0x0a] = 0x06; // cursor start scan line
    this.regs[0x0b] = 0x07; // cursor end
  }

  attach(io: IoBus): void {
    io.register(0x3d4, 2, this);
    io.register(0x3da, 1, this);
  }

  /** Character offset of the cursor (CRTC registers 0x0E/0x0F). */
  get cursor(): { offset: number; row: number; column: number; visible: boolean } {
    const offset = ((this.regs[0x0e] << 8) | this.regs[0x0f]) - this.startOffset;
    return {
      offset,
      row: Math.floor(offset / CGA_COLUMNS),
      column: offset % CGA_COLUMNS,
      visible: (this.regs[0x0a] & 0x20) === 0,
    };
  }

  private get startOffset(): number {
    return ((this.regs[0x0c] << 8) | this.regs[0x0d]) & 0x3fff;
  }

  /** Render the visible 80×25 screen as text (rows joined by "\n"). */
  captureText(options: CaptureOptions = {}): string {
    const bytes = this.readBytes(CGA_TEXT_BASE + this.startOffset * 2, CGA_COLUMNS * CGA_ROWS * 2);
    const rows: string[] = [];
    for (let r = 0; r < CGA_ROWS; r++) {
      let line = "";
      for (let c = 0; c < CGA_COLUMNS; c++) line += cp437(bytes[(r * CGA_COLUMNS + c) * 2]);
      rows.push(options.trim ? line.replace(/[ \u00a0]+$/, "") : line);
    }
    if (options.trim) while (rows.length && rows[rows.length - 1] === "") rows.pop();
    return rows.join("\n");
  }

  read(port: number, _size: AccessSize): number {
    if (port === 0x3d4) return this.index;
    if (port === 0x3da) {
      // Bits 0 (display enable) and 3 (vertical retrace) toggle per read.
      this.retrace ^= 0x09;
      return this.retrace;
    }
    return this.index < this.regs.length ? this.regs[this.index] : 0;
  }

  write(port: number, _size: AccessSize, value: number): void {
    if (port === 0x3d4) this.index = value & 0x1f;
    else if (port === 0x3d5 && this.index < this.regs.length) this.regs[this.index] = value & 0xff;
  }

  snapshot(): { index: number; regs: number[]; retrace: number } {
    return { index: this.index, regs: [...this.regs], retrace: this.retrace };
  }

  restore(s: { index: number; regs: number[]; retrace: number }): void {
    this.index = s.index;
    this.regs = [...s.regs];
    this.retrace = s.retrace;
  }
}
