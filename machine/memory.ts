// Physical address space of the bundled PC: RAM from 0, ROM images, MMIO windows.
//
// Write watching: every 4 KiB RAM page has a watch byte. A page is watched when decoded code was
// cached from it (WATCH_CODE) or when a RAM snapshot wants its old contents (WATCH_SNAPSHOT).
// The CPU's fast write path tests `watch[page]` and calls `beforeWrite(page)` when it is non-zero;
// so do all writes through this class. Code that writes `ram` directly bypasses both (don't).
//
// RAM snapshots are copy-on-write: takeSnapshot() arms WATCH_SNAPSHOT on every page; the first
// write to a page afterwards saves its old contents into the newest snapshot. Restoring a snapshot
// copies back, for every page written since it, the oldest saved copy taken at or after it.

import type { AccessSize, MmioHandler } from "./bus.js";
import type { PhysicalMemoryApi } from "./cpu/api.js";

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** Kinds of physical page (4 KiB granularity over the whole 4 GiB space). */
export const enum PageKind {
  Ram = 0,
  Rom = 1,
  Mmio = 2,
  None = 3,
}

export const WATCH_CODE = 1;
export const WATCH_SNAPSHOT = 2;
/** A page a platform layer watches for every write (the wedge's page-table pages); never cleared by a write. */
export const WATCH_TABLE = 4;

interface MmioWindow {
  base: number;
  length: number;
  handler: MmioHandler;
}

/** A RAM snapshot handle (copy-on-write pages saved since it was taken). */
export interface RamSnapshot {
  readonly id: number;
}

interface SnapshotRecord extends RamSnapshot {
  saved: Map<number, Uint8Array>;
}

export class PhysicalMemory implements PhysicalMemoryApi {
  readonly size: number;
  readonly ram: Uint8Array;
  /** Aligned 32-bit view of ram (size is rounded to a whole page). */
  readonly ram32: Int32Array;
  /** PageKind per physical 4 KiB page. */
  readonly pageKind: Uint8Array;
  /** Watch bits per RAM page (WATCH_CODE | WATCH_SNAPSHOT). */
  readonly watch: Uint8Array;
  /** Called (before the write lands) when a page holding decoded code is written. */
  onCodeWrite: ((page: number) => void) | null = null;
  /** Called (before the write lands) on every write to a page armed with watchTable. */
  onTableWrite: ((page: number) => void) | null = null;
  /**
   * The A20 gate as an address mask: bit 20 is cleared while the gate is disabled, so CPU accesses
   * above 1 MiB wrap as on a PC. The CPU applies it to every physical address it forms (page walks
   * included); host accesses through this class (loaders, snapshots) are not masked.
   */
  a20Mask = -1;
  /** Called after the A20 gate changed (the CPU drops translations and decoded code). */
  onA20Change: (() => void) | null = null;

  private readonly ramPages: number;
  private readonly romPages = new Map<number, Uint8Array>();
  private readonly mmio: MmioWindow[] = [];
  private snapshots: SnapshotRecord[] = [];
  private nextSnapshotId = 1;

  constructor(sizeBytes: number) {
    const size = Math.ceil(sizeBytes / PAGE_SIZE) * PAGE_SIZE;
    if (size <= 0 || size > 0xf0000000) throw new RangeError(`bad RAM size ${sizeBytes}`);
    this.size = size;
    const buf = new ArrayBuffer(size);
    this.ram = new Uint8Array(buf);
    this.ram32 = new Int32Array(buf);
    this.ramPages = size >>> PAGE_SHIFT;
    this.pageKind = new Uint8Array(1 << 20).fill(PageKind.None);
    this.pageKind.fill(PageKind.Ram, 0, this.ramPages);
    this.watch = new Uint8Array(this.ramPages);
  }

  /** Enable or disable the A20 gate (Machine calls this for the PS/2 controller and port 0x92). */
  setA20(enabled: boolean): void {
    const mask = enabled ? -1 : ~0x100000;
    if (mask === this.a20Mask) return;
    this.a20Mask = mask;
    this.onA20Change?.();
  }

  /** True when the page is plain RAM (readable and writable through `ram`). */
  isRamPage(page: number): boolean {
    return this.pageKind[page] === PageKind.Ram;
  }

  /** Make `page` notify onCodeWrite on its next write. */
  watchCode(page: number): void {
    if (page < this.ramPages) this.watch[page] |= WATCH_CODE;
  }

  /** Arm or disarm WATCH_TABLE on a RAM page: every write to it calls onTableWrite first. */
  watchTable(page: number, on: boolean): void {
    if (page >= this.ramPages) return;
    if (on) this.watch[page] |= WATCH_TABLE;
    else this.watch[page] &= ~WATCH_TABLE;
  }

  /** The slow part of a write to a watched page: snapshot copy, then code invalidation. */
  beforeWrite(page: number): void {
    const w = this.watch[page];
    if (w & WATCH_SNAPSHOT) {
      const top = this.snapshots[this.snapshots.length - 1];
      if (top && !top.saved.has(page)) {
        const off = page << PAGE_SHIFT;
        top.saved.set(page, this.ram.slice(off, off + PAGE_SIZE));
      }
    }
    this.watch[page] = w & WATCH_TABLE;
    if (w & WATCH_CODE && this.onCodeWrite) this.onCodeWrite(page);
    if (w & WATCH_TABLE && this.onTableWrite) this.onTableWrite(page);
  }

  private touch(addr: number, length: number): void {
    if (length <= 0) return;
    const first = addr >>> PAGE_SHIFT;
    const last = Math.min((addr + length - 1) >>> PAGE_SHIFT, this.ramPages - 1);
    for (let p = first; p <= last; p++) if (this.watch[p]) this.beforeWrite(p);
  }

  read8(addr: number): number {
    addr >>>= 0;
    if (addr < this.size && this.pageKind[addr >>> PAGE_SHIFT] !== PageKind.Mmio) return this.ram[addr];
    return this.slowRead(addr, 1);
  }

  read16(addr: number): number {
    addr >>>= 0;
    if ((addr & 0xfff) <= 0xffe) {
      if (addr + 1 < this.size && this.pageKind[addr >>> PAGE_SHIFT] !== PageKind.Mmio) return this.ram[addr] | (this.ram[addr + 1] << 8);
      if (this.pageKind[addr >>> PAGE_SHIFT] === PageKind.Mmio) return this.slowRead(addr, 2);
    }
    return this.read8(addr) | (this.read8(addr + 1) << 8);
  }

  read32(addr: number): number {
    addr >>>= 0;
    if ((addr & 0xfff) <= 0xffc) {
      if (addr + 3 < this.size && this.pageKind[addr >>> PAGE_SHIFT] !== PageKind.Mmio) {
        if ((addr & 3) === 0) return this.ram32[addr >>> 2] >>> 0;
        const r = this.ram;
        return (r[addr] | (r[addr + 1] << 8) | (r[addr + 2] << 16) | (r[addr + 3] << 24)) >>> 0;
      }
      if (this.pageKind[addr >>> PAGE_SHIFT] === PageKind.Mmio) return this.slowRead(addr, 4) >>> 0;
    }
    return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
  }

  write8(addr: number, value: number): void {
    addr >>>= 0;
    const page = addr >>> PAGE_SHIFT;
    if (page < this.ramPages && this.pageKind[page] === PageKind.Ram) {
      if (this.watch[page]) this.beforeWrite(page);
      this.ram[addr] = value;
      return;
    }
    this.slowWrite(addr, 1, value);
  }

  write16(addr: number, value: number): void {
    addr >>>= 0;
    if ((addr & 0xfff) <= 0xffe && this.pageKind[addr >>> PAGE_SHIFT] === PageKind.Mmio) {
      this.slowWrite(addr, 2, value);
      return;
    }
    this.write8(addr, value & 0xff);
    this.write8(addr + 1, (value >>> 8) & 0xff);
  }

  write32(addr: number, value: number): void {
    addr >>>= 0;
    const page = addr >>> PAGE_SHIFT;
    if ((addr & 3) === 0 && page < this.ramPages && this.pageKind[page] === PageKind.Ram) {
      if (this.watch[page]) this.beforeWrite(page);
      this.ram32[addr >>> 2] = value;
      return;
    }
    if ((addr & 0xfff) <= 0xffc && this.pageKind[page] === PageKind.Mmio) {
      this.slowWrite(addr, 4, value);
      return;
    }
    this.write16(addr, value & 0xffff);
    this.write16(addr + 2, (value >>> 16) & 0xffff);
  }

  readBytes(addr: number, length: number): Uint8Array {
    addr >>>= 0;
    if (addr + length <= this.size) {
      let plain = true;
      for (let p = addr >>> PAGE_SHIFT; p <= (addr + length - 1) >>> PAGE_SHIFT && length > 0; p++) {
        if (this.pageKind[p] === PageKind.Mmio) plain = false;
      }
      if (plain) return this.ram.slice(addr, addr + length);
    }
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.read8(addr + i);
    return out;
  }

  writeBytes(addr: number, bytes: Uint8Array): void {
    addr >>>= 0;
    const end = addr + bytes.length;
    if (end <= this.size) {
      let plain = true;
      for (let p = addr >>> PAGE_SHIFT; p <= (end - 1) >>> PAGE_SHIFT && bytes.length > 0; p++) {
        if (this.pageKind[p] !== PageKind.Ram) plain = false;
      }
      if (plain) {
        this.touch(addr, bytes.length);
        this.ram.set(bytes, addr);
        return;
      }
    }
    for (let i = 0; i < bytes.length; i++) this.write8(addr + i, bytes[i]);
  }

  /** Fill physical RAM [addr, addr+length) with a byte (bulk rep stos uses ram.fill itself). */
  fill(addr: number, length: number, value: number): void {
    this.touch(addr, length);
    this.ram.fill(value, addr, addr + length);
  }

  mapMmio(base: number, length: number, handler: MmioHandler): void {
    base >>>= 0;
    this.mmio.push({ base, length, handler });
    for (let p = base >>> PAGE_SHIFT; p <= (base + length - 1) >>> PAGE_SHIFT; p++) this.pageKind[p] = PageKind.Mmio;
  }

  mapRom(base: number, bytes: Uint8Array): void {
    base >>>= 0;
    for (let i = 0; i < bytes.length; ) {
      const a = base + i;
      const page = a >>> PAGE_SHIFT;
      const off = a & 0xfff;
      const n = Math.min(PAGE_SIZE - off, bytes.length - i);
      if (page < this.ramPages) {
        this.touch(a, n);
        this.ram.set(bytes.subarray(i, i + n), a);
      } else {
        let pg = this.romPages.get(page);
        if (!pg) this.romPages.set(page, (pg = new Uint8Array(PAGE_SIZE).fill(0xff)));
        pg.set(bytes.subarray(i, i + n), off);
      }
      this.pageKind[page] = PageKind.Rom;
      i += n;
    }
  }

  /** ROM page contents for pages above RAM (the CPU reads code from them); undefined otherwise. */
  romPage(page: number): Uint8Array | undefined {
    return this.romPages.get(page);
  }

  private findMmio(addr: number): MmioWindow | undefined {
    for (const w of this.mmio) if (addr >= w.base && addr - w.base < w.length) return w;
    return undefined;
  }

  /** Reads of MMIO, ROM above RAM, and unmapped space (all ones). */
  slowRead(addr: number, size: AccessSize): number {
    const page = addr >>> PAGE_SHIFT;
    const kind = this.pageKind[page];
    if (kind === PageKind.Mmio) {
      const w = this.findMmio(addr);
      if (w) return w.handler.read(addr - w.base, size) >>> 0;
      return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    }
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.byteAt(addr + i) << (i * 8);
    return v >>> 0;
  }

  private byteAt(addr: number): number {
    addr >>>= 0;
    const page = addr >>> PAGE_SHIFT;
    if (page < this.ramPages && this.pageKind[page] !== PageKind.Mmio) return this.ram[addr];
    const rom = this.romPages.get(page);
    if (rom) return rom[addr & 0xfff];
    if (this.pageKind[page] === PageKind.Mmio) return this.slowRead(addr, 1);
    return 0xff;
  }

  slowWrite(addr: number, size: AccessSize, value: number): void {
    const page = addr >>> PAGE_SHIFT;
    const kind = this.pageKind[page];
    if (kind === PageKind.Mmio) {
      const w = this.findMmio(addr);
      if (w) w.handler.write(addr - w.base, size, value >>> 0);
      return;
    }
    if (kind === PageKind.Ram) {
      for (let i = 0; i < size; i++) this.write8(addr + i, (value >>> (i * 8)) & 0xff);
      return;
    }
    // ROM and unmapped: ignored
  }

  // --- RAM snapshots (copy-on-write) -------------------------------------------------------

  takeSnapshot(): RamSnapshot {
    const rec: SnapshotRecord = { id: this.nextSnapshotId++, saved: new Map() };
    this.snapshots.push(rec);
    for (let p = 0; p < this.ramPages; p++) this.watch[p] |= WATCH_SNAPSHOT;
    return { id: rec.id };
  }

  /** Put RAM back as it was when `snap` was taken; later snapshots are discarded, `snap` stays usable. */
  restoreSnapshot(snap: RamSnapshot): void {
    const idx = this.snapshots.findIndex((s) => s.id === snap.id);
    if (idx < 0) throw new Error(`unknown or released RAM snapshot ${snap.id}`);
    const done = new Set<number>();
    for (let i = idx; i < this.snapshots.length; i++) {
      for (const [page, bytes] of this.snapshots[i].saved) {
        if (done.has(page)) continue;
        done.add(page);
        if (this.watch[page] & WATCH_CODE && this.onCodeWrite) this.onCodeWrite(page);
        this.ram.set(bytes, page << PAGE_SHIFT);
      }
    }
    this.snapshots.length = idx + 1;
    this.snapshots[idx].saved = new Map();
    for (let p = 0; p < this.ramPages; p++) this.watch[p] |= WATCH_SNAPSHOT;
  }

  /** Forget a snapshot (and every older one: their saved pages are merged away). */
  releaseSnapshot(snap: RamSnapshot): void {
    const idx = this.snapshots.findIndex((s) => s.id === snap.id);
    if (idx < 0) return;
    if (idx === this.snapshots.length - 1) {
      this.snapshots = [];
      for (let p = 0; p < this.ramPages; p++) this.watch[p] &= ~WATCH_SNAPSHOT;
      return;
    }
    this.snapshots.splice(0, idx + 1);
  }
}
