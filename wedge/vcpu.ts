// The wedge's window in the guest address space: its page table, the virtual CPU block and the stubs, backed by the
// wedge and mapped as an MMIO window at WEDGE_VIRT (so guest code reaches it at the same address with paging off
// or on). The vCPU block is at the core/isa VCPU_LAYOUT offsets. The virtual flags (IF, IOPL) are the wedge's own
// state; `pending` reads the interrupt controller live; the control registers, descriptor-table registers and
// selectors mirror the registers the wedge runs the guest on (it performs those operations on the guest's behalf,
// so the two never differ), which is what the inline `mov %crN`/`mov %sreg` rewrites read.

import type { Cpu, MmioHandler } from "../machine/index.js";
import { VCPU_LAYOUT, VCPU_SIZE } from "../core/isa/index.js";
import { WEDGE_LAYOUT, WEDGE_VIRT } from "./layout.js";

type AccessSize = 1 | 2 | 4;

export class WedgeWindow implements MmioHandler {
  readonly backing: Uint8Array;
  /** Virtual EFLAGS (IF = bit 9 and IOPL are the virtual ones). */
  vflags = 0x2;
  /** Called on every guest access to the vCPU block (inline rewrites count themselves this way). */
  onVcpuAccess: (() => void) | null = null;

  constructor(
    readonly length: number,
    private readonly cpu: Cpu,
    private readonly pending: () => boolean,
  ) {
    this.backing = new Uint8Array(length);
    // The page table: entry i maps WEDGE_VIRT + i pages onto the window itself (present, writable, supervisor).
    const pages = length >>> 12;
    const view = new DataView(this.backing.buffer);
    for (let i = 0; i < pages; i++) view.setUint32(WEDGE_LAYOUT.pageTable + 4 * i, (WEDGE_VIRT + i * 0x1000 + 3) >>> 0, true);
  }

  /** The 8-byte slot value of a vCPU field (low 32 bits; the descriptor-table registers are 6 bytes). */
  private slot(off: number): number {
    const c = this.cpu;
    const L = VCPU_LAYOUT;
    if (off === L.flags) return this.vflags >>> 0;
    if (off === L.pending) return this.pending() ? 1 : 0;
    if (off === L.cr0) return c.cr[0]! >>> 0;
    if (off === L.cr2) return c.cr[2]! >>> 0;
    if (off === L.cr3) return c.cr[3]! >>> 0;
    if (off === L.cr4) return c.cr[4]! >>> 0;
    if (off >= L.es && off <= L.gs) return c.segs[(off - L.es) >>> 3]!.selector;
    if (off === L.ldtr) return c.ldtr.selector;
    if (off === L.tr) return c.tr.selector;
    if (off >= L.dr0 && off < L.dr0 + 64) return c.dr[(off - L.dr0) >>> 3]! >>> 0;
    return 0;
  }

  private vcpuByte(off: number): number {
    const L = VCPU_LAYOUT;
    for (const [base, t] of [[L.gdtr, this.cpu.gdtr], [L.idtr, this.cpu.idtr]] as const) {
      if (off >= base && off < base + 16) {
        const k = off - base;
        if (k < 2) return (t.limit >>> (8 * k)) & 0xff;
        if (k < 6) return (t.base >>> (8 * (k - 2))) & 0xff;
        return 0;
      }
    }
    const s = off & ~7;
    const k = off & 7;
    return k < 4 ? (this.slot(s) >>> (8 * k)) & 0xff : 0;
  }

  read(offset: number, size: AccessSize): number {
    const v = WEDGE_LAYOUT.vcpu;
    if (offset >= v && offset < v + VCPU_SIZE) {
      this.onVcpuAccess?.();
      let r = 0;
      for (let k = 0; k < size; k++) r |= this.vcpuByte(offset - v + k) << (8 * k);
      return r >>> 0;
    }
    let r = 0;
    for (let k = 0; k < size; k++) r |= (this.backing[offset + k] ?? 0xff) << (8 * k);
    return r >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    const v = WEDGE_LAYOUT.vcpu;
    if (offset >= v && offset < v + VCPU_SIZE) {
      this.onVcpuAccess?.();
      const off = offset - v;
      // Only the virtual flags are the wedge's own; other slots mirror real registers (the inline mov-to-sreg
      // rewrite stores the selector it then loads, so the store carries nothing new).
      if (off < 4) {
        const shift = 8 * off;
        const mask = (size === 4 ? 0xffffffff : (1 << (8 * size)) - 1) << shift;
        this.vflags = ((this.vflags & ~mask) | ((value << shift) & mask) | 0x2) >>> 0;
      }
      return;
    }
    // The page table and the stubs are the wedge's: guest writes are ignored (Xen's area is read-only to guests).
  }

  /** The vCPU as field → value (for the debugger's variable scope). */
  fields(): Record<string, number> {
    const L = VCPU_LAYOUT;
    const out: Record<string, number> = {};
    for (const [name, off] of Object.entries(L)) {
      if (name === "gdtr" || name === "idtr") continue;
      if (name === "dr0") {
        for (let n = 0; n < 8; n++) out[`dr${n}`] = this.slot(off + 8 * n);
        continue;
      }
      out[name] = this.slot(off);
    }
    out["gdtr.base"] = this.cpu.gdtr.base >>> 0;
    out["gdtr.limit"] = this.cpu.gdtr.limit;
    out["idtr.base"] = this.cpu.idtr.base >>> 0;
    out["idtr.limit"] = this.cpu.idtr.limit;
    out.vIF = (this.vflags >>> 9) & 1;
    out.vIOPL = (this.vflags >>> 12) & 3;
    return out;
  }
}
