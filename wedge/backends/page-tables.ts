// Page-table writes on the pre-virtualized backends. On Xen the guest's page tables are read-only to it: an
// unannotated store to one faults into Xen, which emulates it (writable page tables); on L4 the wedge write-protects
// them and sees the store as a pager IPC. We model the fault path: every page the loaded page directories use as a
// directory or table is watched (machine/memory WATCH_TABLE), and each guest store that changes an entry (beyond the
// accessed/dirty bits the MMU itself sets) is reported to the backend with the storing instruction's address.

import type { Machine } from "../../machine/index.js";
import { WEDGE_PDE_INDEX } from "../layout.js";
import { linearEip } from "./platform.js";

/** At most this many pages are watched (a runaway guest cannot make the wedge copy all of RAM). */
const MAX_WATCHED = 4096;

export class PageTableWatch {
  private shadows = new Map<number, Uint32Array>();
  private readonly directories = new Set<number>();
  private pendingPage = -1;
  private pendingEip = 0;
  private pendingInstruction = 0;
  private own = false;

  constructor(
    private readonly machine: Machine,
    private readonly onWrite: (page: number, eip: number, instruction: number) => void,
  ) {
    machine.memory.onTableWrite = (page) => {
      if (this.own) return;
      this.flush();
      this.pendingPage = page;
      this.pendingEip = linearEip(machine.cpu);
      this.pendingInstruction = machine.cpu.instructionCount;
    };
  }

  private readPage(page: number): Uint32Array {
    const bytes = this.machine.memory.readBytes(page << 12, 4096);
    return new Uint32Array(bytes.buffer, bytes.byteOffset, 1024).slice();
  }

  private watch(page: number): void {
    if (this.shadows.has(page) || this.shadows.size >= MAX_WATCHED) return;
    if (((page + 1) << 12) > this.machine.memory.size) return;
    this.shadows.set(page, this.readPage(page));
    this.machine.memory.watchTable(page, true);
  }

  /** Watch a page directory (physical address) and every page table it points to. */
  track(pd: number): void {
    const page = pd >>> 12;
    this.directories.add(page);
    this.watch(page);
    const dir = this.shadows.get(page) ?? this.readPage(page);
    for (let i = 0; i < 1024; i++) {
      const pde = dir[i]!;
      if (i === WEDGE_PDE_INDEX || !(pde & 1) || pde & 0x80) continue; // not present, the wedge's slot, or a 4 MiB page
      this.watch(pde >>> 12);
    }
  }

  rescan(): void {
    this.flush();
    for (const d of this.directories) this.track(d << 12);
  }

  /** Compare the page written last with its shadow; report entry changes the guest made. */
  flush(): void {
    const page = this.pendingPage;
    if (page < 0) return;
    this.pendingPage = -1;
    const old = this.shadows.get(page);
    if (!old) return;
    const now = this.readPage(page);
    let changed = false;
    for (let i = 0; i < 1024; i++) {
      if (((old[i]! ^ now[i]!) & ~0x60) !== 0) changed = true;
    }
    this.shadows.set(page, now);
    if (!changed) return;
    this.onWrite(page, this.pendingEip, this.pendingInstruction);
    if (this.directories.has(page)) {
      this.own = true;
      try {
        this.track(page << 12);
      } finally {
        this.own = false;
      }
    }
  }

  /** Run `f` without reporting its writes (the wedge's own page-directory updates). */
  quietly<T>(f: () => T): T {
    this.flush();
    this.own = true;
    try {
      return f();
    } finally {
      this.own = false;
      for (const [page] of this.shadows) this.shadows.set(page, this.readPage(page));
    }
  }

  watchedCount(): number {
    return this.shadows.size;
  }

  snapshot(): unknown {
    this.flush();
    return { shadows: new Map([...this.shadows].map(([p, s]) => [p, s.slice()])), directories: [...this.directories] };
  }

  restore(s: unknown): void {
    const st = s as { shadows: Map<number, Uint32Array>; directories: number[] };
    for (const p of this.shadows.keys()) this.machine.memory.watchTable(p, false);
    this.shadows = new Map([...st.shadows].map(([p, sh]) => [p, sh.slice()]));
    for (const p of this.shadows.keys()) this.machine.memory.watchTable(p, true);
    this.directories.clear();
    for (const d of st.directories) this.directories.add(d);
    this.pendingPage = -1;
  }
}
