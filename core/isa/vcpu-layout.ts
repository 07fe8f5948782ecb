// The virtual-CPU block the wedge keeps in guest memory. Inline rewrites address its fields with absolute
// disp32 operands, so this layout is part of the contract between the catalogue (which sizes the rewrites)
// and the wedge (which writes them and keeps the block up to date).

/**
 * Byte offsets of the vCPU fields. Every slot is 8 bytes so that 64-bit code can use the same layout with
 * quadword accesses; 32-bit code uses the low 4 bytes (little endian).
 */
export const VCPU_LAYOUT = {
  /** EFLAGS image; authoritative for the virtual system bits (IF = bit 9, IOPL = bits 12–13). */
  flags: 0x00,
  /** Nonzero while an interrupt is waiting for delivery (the wedge sets it; inline sti/popf test it). */
  pending: 0x08,
  cr0: 0x10,
  cr2: 0x18,
  cr3: 0x20,
  cr4: 0x28,
  cr8: 0x30,
  /** Segment selectors at sreg + 8 × (ModRM sreg number): es 0, cs 1, ss 2, ds 3, fs 4, gs 5. */
  es: 0x38,
  cs: 0x40,
  ss: 0x48,
  ds: 0x50,
  fs: 0x58,
  gs: 0x60,
  ldtr: 0x68,
  tr: 0x70,
  /** Descriptor-table registers in the sgdt/sidt memory image: 16-bit limit, then the base. 16 bytes each. */
  gdtr: 0x78,
  idtr: 0x88,
  /** dr0 … dr7 at dr0 + 8 × n. */
  dr0: 0x98,
} as const;

export type VcpuField = keyof typeof VCPU_LAYOUT;

/** Bytes the wedge reserves for the block (room to grow after dr7 at 0xd0). */
export const VCPU_SIZE = 0x100;

/** EFLAGS bits the vCPU virtualizes; the others always come from the real flags. */
export const VCPU_FLAGS = {
  IF: 1 << 9,
  IOPL: 3 << 12,
  /** The bits pushf merges from the vCPU image into the real flags (IF and IOPL). */
  virtualMask: (1 << 9) | (3 << 12),
} as const;

/** Offset of a segment register's slot, by its ModRM sreg number (es=0 … gs=5). */
export function sregOffset(sreg: number): number {
  return VCPU_LAYOUT.es + 8 * sreg;
}

/** Offset of a control register's slot (0, 2, 3, 4, 8), or undefined for a register the vCPU does not keep. */
export function crOffset(n: number): number | undefined {
  switch (n) {
    case 0: return VCPU_LAYOUT.cr0;
    case 2: return VCPU_LAYOUT.cr2;
    case 3: return VCPU_LAYOUT.cr3;
    case 4: return VCPU_LAYOUT.cr4;
    case 8: return VCPU_LAYOUT.cr8;
    default: return undefined;
  }
}

/** Offset of a debug register's slot (dr0–dr7). */
export function drOffset(n: number): number {
  return VCPU_LAYOUT.dr0 + 8 * n;
}
