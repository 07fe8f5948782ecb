// Test helper: the opcode key an emulator decoder reports for an instruction's bytes (prefixes skipped but the
// candidate mandatory prefix kept, one-byte opcodes 0x00–0xff, 0F xx as 0x100 + xx, 0F 38 xx as 0x200 + xx,
// 0F 3A xx as 0x300 + xx, ModRM reg/rm/mem for opcodes that have a ModRM byte).
// Written from the opcode map so that it checks core/isa's opcode table independently of it.

import type { DecodedForm } from "../../../core/isa/index.js";

const LEGACY_PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

const ONE_BYTE_MODRM = new Set([
  ...[0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38].flatMap((b) => range(b, b + 3)),
  0x62, 0x63, 0x69, 0x6b, ...range(0x80, 0x8f), 0xc0, 0xc1, ...range(0xc4, 0xc7), ...range(0xd0, 0xd3),
  ...range(0xd8, 0xdf), 0xf6, 0xf7, 0xfe, 0xff,
]);

const TWO_BYTE_NO_MODRM = new Set([
  0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, ...range(0x30, 0x37), 0x77, ...range(0x80, 0x8f),
  0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa, ...range(0xc8, 0xcf),
]);

export function hasModrm(opcode: number): boolean {
  if (opcode >= 0x200) return true; // every 0F 38 / 0F 3A opcode has one
  return opcode >= 0x100 ? !TWO_BYTE_NO_MODRM.has(opcode - 0x100) : ONE_BYTE_MODRM.has(opcode);
}

/** The decoded form of the first instruction in `bytes`. REX.R goes into `reg` for 0F 20–23 in 64-bit mode. */
export function formFromBytes(bytes: Uint8Array, mode: 32 | 64): DecodedForm {
  let i = 0;
  let rex = 0;
  let rep = 0;
  let opsize = false;
  for (; i < bytes.length && LEGACY_PREFIXES.has(bytes[i]!); i++) {
    if (bytes[i] === 0xf2 || bytes[i] === 0xf3) rep = bytes[i]!;
    else if (bytes[i] === 0x66) opsize = true;
  }
  const prefix = rep || (opsize ? 0x66 : 0);
  const withPrefix = <T extends object>(f: T): T & { prefix?: number } => (prefix ? { ...f, prefix } : f);
  if (mode === 64 && (bytes[i]! & 0xf0) === 0x40) rex = bytes[i++]!;
  let opcode = bytes[i++]!;
  if (opcode === 0x0f) {
    opcode = 0x100 + bytes[i++]!;
    if (opcode === 0x138 || opcode === 0x13a) opcode = (opcode === 0x138 ? 0x200 : 0x300) + bytes[i++]!;
  }
  if (!hasModrm(opcode)) return withPrefix({ opcode });
  const modrm = bytes[i]!;
  let reg = (modrm >> 3) & 7;
  if (opcode >= 0x120 && opcode <= 0x123 && rex & 4) reg |= 8;
  return withPrefix({ opcode, reg, rm: modrm & 7, mem: modrm >> 6 !== 3 });
}
