// The wedge on a pre-virtualized backend (xen, l4): rewrites every annotated site in guest memory, maps its window
// (page table, vCPU block, stubs) at WEDGE_VIRT, and handles the call-outs in TypeScript when the CPU reaches the
// entry region (Cpu hooks.onEntry). A call-out's handler accounts for the operation as its hypervisor would carry
// it out (hypercall, IPC, wedge-local emulation), then runs the original operation from a stub in the window on the
// guest's behalf and comes back through the site's post entry to the end of the site.
//
// Interrupts: the guest's virtual IF gates delivery (the CPU sees the controller only while vIF = 1). Synchronous
// points: iret (the real iret in its stub, then the CPU's own check), hlt, and sti/popf when the inline code finds
// `pending` set and calls the wedge. Asynchronously the CPU delivers between instructions whenever vIF = 1.

import { entryForForm, hookForms, type DecodedForm } from "../../core/isa/index.js";
import type { Cpu, InterruptController } from "../../machine/index.js";
import { describeLocation, type LoadedSite } from "../loader.js";
import {
  inWedge,
  MAX_ALIASES,
  MAX_SITES,
  STUB_SIZE,
  VCPU_ALIAS_STRIDE,
  VCPU_ALIASES,
  VCPU_BASE,
  WEDGE_ENTRY,
  WEDGE_LAYOUT,
  WEDGE_PDE_INDEX,
  WEDGE_POST,
  WEDGE_STUBS,
  WEDGE_VIRT,
} from "../layout.js";
import { rewriteSite, type SiteRewrite } from "../rewriter.js";
import type { LedgerEventKind, RewrittenSite } from "../types.js";
import { WedgeWindow } from "../vcpu.js";
import { WedgeLoadError } from "../loader.js";
import { describeException, EFLAGS_IF, ESP, hex, interposeInterrupts, isInterruptGate, linearEip, read32, stackTop, write32, type Platform, type PlatformContext } from "./platform.js";
import { PageTableWatch } from "./page-tables.js";

/** How one hypervisor carries out what the wedge asks: the ledger entry for each kind of operation. */
export interface Priced {
  kind: LedgerEventKind;
  cost: string;
  detail: string;
}

export interface HypervisorModel {
  /** A call-out site's operation. `port` for in/out, `toUser` for iret. */
  siteOperation(site: LoadedSite, facts: { port?: number; toUser?: boolean }): Priced;
  /** A virtual interrupt delivered to the guest. */
  interrupt(vector: number): Priced;
  /** A guest exception (fault or trap raised by the CPU); `what` names it ("#PF (vector 14, ...)"). */
  exception(vector: number, what: string): Priced;
  /** An unannotated write to a page-table page (caught by the write-protection fault path). */
  pageTableWrite(): Priced;
  /** What the wedge tells the hypervisor when it starts (before the guest's first instruction). */
  start?(): Priced[];
  /** Extra backend state for the debugger. */
  state(rt: PrevirtRuntime): Record<string, string | number | boolean>;
}

interface RuntimeSite {
  loaded: LoadedSite;
  rewrite: SiteRewrite;
}

export class PrevirtRuntime implements Platform {
  readonly sites: RewrittenSite[] = [];
  readonly window: WedgeWindow;
  readonly inner: InterruptController;
  readonly pageTables: PageTableWatch;
  private readonly rsites: RuntimeSite[] = [];
  private readonly byCallReturn = new Map<number, RuntimeSite>();
  /** Inline sites by vCPU alias. */
  private readonly byAlias: RuntimeSite[] = [];
  /** Sorted site starts, for "is this address inside a site". */
  private readonly starts: number[];
  private stopMessage: string | undefined;
  /** Address spaces (page directories) the guest has loaded. */
  readonly addressSpaces = new Set<number>();
  private readonly cpu: Cpu;

  constructor(
    private readonly ctx: PlatformContext,
    private readonly model: HypervisorModel,
  ) {
    const { machine, image } = ctx;
    const cpu = (this.cpu = machine.cpu);
    const file = image.fileName;
    const maxSites = MAX_SITES;
    if (image.sites.length > maxSites) throw new WedgeLoadError(`${file}: ${image.sites.length} sites; the wedge's entry region has room for ${maxSites}`);
    if (machine.memory.size > WEDGE_VIRT) throw new WedgeLoadError(`${file}: guest RAM reaches the wedge's window at ${hex(WEDGE_VIRT)}`);
    // Room for every site's stub, and an alias of the vCPU per inline site (at most one per site).
    const aliases = Math.min(image.sites.length, MAX_ALIASES);
    const length = (WEDGE_LAYOUT.aliases + aliases * VCPU_ALIAS_STRIDE + 0xfff) & ~0xfff;
    this.inner = machine.devices.interrupts;
    this.window = new WedgeWindow(length, cpu, () => this.inner.hasPending());
    machine.memory.mapMmio(WEDGE_VIRT, length, this.window);
    this.window.vflags = (cpu.getEflags() | 0x2) >>> 0;

    for (const s of image.sites) {
      const alias = this.byAlias.length;
      const rw = rewriteSite(s, file, alias < MAX_ALIASES ? VCPU_ALIASES + alias * VCPU_ALIAS_STRIDE : VCPU_BASE);
      const rs: RuntimeSite = { loaded: s, rewrite: rw };
      this.rsites.push(rs);
      machine.memory.writeBytes(s.paddr, rw.bytes);
      for (const r of rw.callReturns) this.byCallReturn.set(r, rs);
      if (rw.kind === "inline" && alias < MAX_ALIASES) this.byAlias.push(rs);
      if (rw.stub) this.window.backing.set(rw.stub, rw.stubAddress! - WEDGE_VIRT);
      this.sites.push({
        start: s.start,
        end: s.end,
        catalogueId: s.catalogueId,
        mnemonic: s.insn.text,
        original: s.original,
        rewritten: rw.bytes,
        rewrite: rw.kind,
        location: s.location,
      });
    }
    this.starts = this.rsites.map((r) => r.loaded.start);

    this.window.onVcpuAccess = (alias, offset, write) => this.countInline(alias, offset, write);
    for (const p of this.model.start?.() ?? []) this.record(p, image.entry);
    cpu.setEntryRanges([{ start: WEDGE_ENTRY, end: WEDGE_POST + Math.max(1, image.sites.length) }]);
    cpu.setHookedForms(hookForms(32));
    cpu.hooks = {
      onEntry: (lin) => this.onEntry(lin),
      beforeInstruction: (form, eip) => this.beforeInstruction(form, eip),
      onException: (info) => {
        const at = this.guestAddress(info.vector, info.software);
        if (!info.software) {
          // int n runs from its site's stub and was counted there
          this.record(this.model.exception(info.vector, describeException(info)), at?.eip ?? linearEip(cpu));
          this.enterThroughGate(info.vector);
        }
        if (at !== undefined) {
          if (at.post) this.post(at.post);
          this.setEip(at.eip);
        }
        return "continue";
      },
    };
    // Asynchronous delivery needs vIF = 1 and the guest outside the wedge's entry points (a stub runs one guest
    // instruction on the guest's behalf and may be interrupted like guest code).
    const entryEnd = WEDGE_POST + Math.max(1, image.sites.length);
    interposeInterrupts(
      machine,
      () => {
        if (!(this.window.vflags & EFLAGS_IF)) return false;
        const lin = linearEip(cpu);
        return lin < WEDGE_ENTRY || lin >= entryEnd;
      },
      (v) => this.delivered(v),
    );
    // A device raising INTR while the guest has virtual IF = 1 but the real IF is still 0 (after an inline sti in
    // a handler): make the CPU look again. The real IF is the wedge's, never visible to the guest.
    const wake = () => this.wakeForInterrupt();
    const pic = machine.devices.pic;
    const picNotify = pic.onIntr;
    pic.onIntr = () => {
      picNotify();
      wake();
    };
    const lapic = machine.devices.lapic;
    const lapicNotify = lapic.onInterrupt;
    lapic.onInterrupt = () => {
      lapicNotify();
      wake();
    };
    this.pageTables = new PageTableWatch(machine, (page, eip, instruction) => {
      const p = this.model.pageTableWrite();
      const site = this.siteAt(eip);
      // An annotated memory site (.afterburn.pte_set...) runs its store from the stub: charged at its call-out.
      if (inWedge(eip) || site) return;
      this.ctx.ledger.record(p.kind, eip, p.cost, `${p.detail} (page-table page ${hex(page << 12)})`, instruction);
    });
  }

  private now(): number {
    return this.cpu.instructionCount;
  }

  private record(p: Priced, at: number, catalogueId?: string): void {
    this.ctx.ledger.record(p.kind, at, p.cost, p.detail, this.now(), catalogueId);
  }

  private siteAt(lin: number): RuntimeSite | undefined {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= lin) lo = mid + 1;
      else hi = mid - 1;
    }
    const r = hi >= 0 ? this.rsites[hi] : undefined;
    return r && lin < r.loaded.end ? r : undefined;
  }

  /**
   * Where the guest's exception frame must point when the exception arises inside a site's wedge stub
   * or inline rewrite (undefined elsewhere). A stub or mid-rewrite address in the frame defeats the
   * guest's exception tables, which find a fixup by the faulting address (rdmsr_safe, segment loads,
   * ud2 for BUG): a fault is reported at the site, whose rewrite runs again if the handler returns. A
   * trap or software interrupt in a stub is reported where it is on bare metal, after the original
   * instruction (an int3 handler finds its int3 one byte back), with post's work done here; the
   * guest's iret back into the site's padding then resumes at the site's end (callOut, "iret").
   * Inside inline code a trap returns into that code, unchanged.
   */
  private guestAddress(vector: number, software: boolean): { eip: number; post?: RuntimeSite } | undefined {
    const lin = linearEip(this.cpu);
    const trap = software || vector === 1; // EIP already past the instruction (#DB here: single-step)
    const stubEnd = WEDGE_STUBS + this.rsites.length * STUB_SIZE;
    if (lin >= WEDGE_STUBS && lin < stubEnd) {
      const rs = this.rsites[Math.floor((lin - WEDGE_STUBS) / STUB_SIZE)]!;
      return trap ? { eip: (rs.loaded.start + ((lin - WEDGE_STUBS) % STUB_SIZE)) >>> 0, post: rs } : { eip: rs.loaded.start };
    }
    const rs = this.siteAt(lin);
    if (rs === undefined || rs.rewrite.kind !== "inline" || lin === rs.loaded.start || trap) return undefined;
    this.faulted.add(rs);
    return { eip: rs.loaded.start };
  }

  /**
   * Inline sites whose fault was reported at their start and whose handler has not returned yet: its
   * iret into the site's original padding means "skip the instruction". Only these: an interrupt taken
   * inside inline code returns into that code, at addresses the original layout calls padding too.
   */
  private readonly faulted = new Set<RuntimeSite>();

  /** An inline rewrite's counting access (its first vCPU access, identified by the site's own alias) is one execution. */
  private countInline(alias: number, offset: number, write: boolean): void {
    const rs = alias >= 0 ? this.byAlias[alias] : undefined;
    const c = rs?.rewrite.count;
    if (!rs || !c || c.offset !== offset || c.write !== write) return;
    const beh = rs.loaded.entry!.backends[this.ctx.backend];
    this.ctx.ledger.record("inline", rs.loaded.start, "inline", beh.detail, this.now(), rs.loaded.catalogueId);
  }

  private get vIF(): boolean {
    return (this.window.vflags & EFLAGS_IF) !== 0;
  }

  private setRealIF(on: boolean): void {
    const f = this.cpu.getEflags();
    this.cpu.setEflags(on ? f | EFLAGS_IF : f & ~EFLAGS_IF);
  }

  private setEip(linear: number): void {
    this.cpu.eip = (linear - this.cpu.segs[1]!.base) >>> 0;
  }

  /** A vector the CPU took (asynchronously or injected by us): the gate's IF rule applies to the virtual IF. */
  private delivered(vector: number): void {
    this.record(this.model.interrupt(vector), linearEip(this.cpu));
    this.enterThroughGate(vector);
  }

  private enterThroughGate(vector: number): void {
    // The frame the CPU pushes must carry the guest's (virtual) IF; an interrupt gate then clears it. Inside a popf
    // rewrite, after its `popl vcpu.flags`, the guest's flags are the popped image: that is what the frame carries.
    const lin = linearEip(this.cpu);
    const rs = this.siteAt(lin);
    if (rs && rs.rewrite.kind === "inline" && rs.loaded.entry?.id === "popf" && lin > rs.loaded.start) {
      this.cpu.setEflags((this.window.vflags | 0x2) >>> 0);
    }
    this.setRealIF(this.vIF);
    if (isInterruptGate(this.cpu, vector)) this.window.vflags &= ~EFLAGS_IF;
  }

  /** Deliver a pending interrupt now, returning to `returnTo`; the frame's flags are `flags` with the virtual IF. */
  private deliverPending(returnTo: number, flags: number): boolean {
    if (!this.vIF || !this.inner.hasPending()) return false;
    this.setEip(returnTo);
    this.cpu.setEflags((flags | EFLAGS_IF | 0x2) >>> 0);
    const v = this.inner.acknowledge();
    this.delivered(v);
    this.cpu.deliverInterrupt(v);
    return true;
  }

  private wakeForInterrupt(): void {
    // The real IF is the wedge's (pushf shows the virtual one, popf loads the virtual flags), so raising it is
    // invisible to the guest; the gate still holds delivery to vIF = 1 outside the entry points.
    if (!this.vIF || this.cpu.getEflags() & EFLAGS_IF) return;
    this.setRealIF(true);
  }

  private beforeInstruction(form: DecodedForm, eip: number): "continue" {
    const lin = (this.cpu.segs[1]!.base + eip) >>> 0;
    if (inWedge(lin) || this.siteAt(lin)) return "continue";
    const entry = entryForForm(form, 32);
    if (!entry) return "continue";
    const beh = entry.backends[this.ctx.backend];
    if (beh.action === "native" || beh.action === "native-ok") return "continue";
    const loc = this.ctx.image.locate(lin);
    this.ctx.ledger.record(
      "missed-site",
      lin,
      "missed.trap",
      `unannotated ${entry.id} at ${describeLocation(loc)} reached the hypervisor raw (no .afterburn record)`,
      this.now(),
      entry.id,
    );
    return "continue";
  }

  private onEntry(lin: number): "handled" | "stop" {
    const r = this.handleEntry(lin);
    // An interrupt held back while the CPU stood at the entry point gets its chance now.
    if (r === "handled" && this.vIF) this.cpu.notifyInterrupt();
    return r;
  }

  private handleEntry(lin: number): "handled" | "stop" {
    const cpu = this.cpu;
    if (lin === WEDGE_ENTRY) {
      const ret = read32(cpu, stackTop(cpu));
      const rs = this.byCallReturn.get(ret);
      if (!rs) {
        this.stopMessage = `the wedge was entered from ${hex(ret - 5)}, which is no rewritten site`;
        return "stop";
      }
      cpu.regs[ESP] = (cpu.regs[ESP]! + 4) | 0;
      this.callOut(rs, ret);
      return "handled";
    }
    const k = lin - WEDGE_POST;
    const rs = this.rsites[k];
    if (k >= 0 && rs) {
      this.post(rs);
      this.setEip(rs.loaded.end);
      return "handled";
    }
    this.stopMessage = `the guest jumped into the wedge's entry region at ${hex(lin)}`;
    return "stop";
  }

  private callOut(rs: RuntimeSite, ret: number): void {
    const cpu = this.cpu;
    const s = rs.loaded;
    const id = s.entry?.id;
    // The 16-bit popf has no inline rewrite: it is an ordinary call-out (default), whose stub pops.
    switch (id === "popf" && rs.rewrite.kind === "call" ? "" : id) {
      case "sti":
      case "popf": {
        // The inline code found an interrupt pending (vIF is already set): deliver it here. After sti, an
        // immediately following hlt is inside sti's interrupt shadow: it takes the interrupt itself.
        const next = this.siteAt(s.end);
        if (id === "sti" && next?.loaded.entry?.id === "hlt" && next.loaded.start === s.end) {
          this.setRealIF(true);
          this.setEip(ret);
          return;
        }
        this.record({ kind: "wedge-call", cost: "wedge.call", detail: `${id} found an interrupt pending: delivered through the virtual IDT` }, s.start, s.catalogueId);
        if (!this.deliverPending(ret, id === "popf" ? this.window.vflags : cpu.getEflags())) this.setEip(ret);
        return;
      }
      case "hlt": {
        this.record(this.model.siteOperation(s, {}), s.start, s.catalogueId);
        this.setEip(s.end);
        if (this.vIF) {
          if (this.deliverPending(s.end, cpu.getEflags())) return;
          this.setRealIF(true);
        } else this.setRealIF(false);
        cpu.halted = true;
        return;
      }
      case "iret": {
        const top = stackTop(cpu);
        // A handler that skips the instruction it was called for (ud2 for BUG: EIP += 2) computes its
        // return from the original layout; at a call-out site that is the middle of the `call`. The
        // original bytes from there on were the padding: returning to the site's end is the same.
        const to = read32(cpu, top);
        const back = this.siteAt(to);
        if (back !== undefined) {
          const skips = back.rewrite.kind === "call" || this.faulted.has(back);
          this.faulted.delete(back);
          if (skips && to >= back.loaded.start + back.loaded.opLength) write32(cpu, top, back.loaded.end);
        }
        const cs = read32(cpu, top + 4) & 0xffff;
        const eflags = read32(cpu, top + 8);
        this.window.vflags = (eflags | 0x2) >>> 0;
        this.record(this.model.siteOperation(s, { toUser: (cs & 3) > cpu.cpl }), s.start, s.catalogueId);
        this.setEip(rs.rewrite.stubAddress!);
        cpu.notifyInterrupt();
        return;
      }
      default: {
        let port: number | undefined;
        if (id && /^(in|out)/.test(id)) {
          const ops = s.insn.operands;
          const p = id.startsWith("in") && !id.startsWith("ins") ? ops[1] : id.startsWith("out") && !id.startsWith("outs") ? ops[0] : undefined;
          port = p?.kind === "imm" ? p.value : cpu.regs[2]! & 0xffff;
        }
        this.record(this.model.siteOperation(s, { port }), s.start, s.catalogueId);
        if (id === "mov-to-cr3" || id === "mov-to-cr0") {
          // The stub continues in the window: the directory about to be used must map it before the switch.
          const src = s.insn.operands[1];
          const pd = id === "mov-to-cr3" && src?.kind === "reg" && src.reg.kind === "gpr" ? cpu.regs[src.reg.index]! : cpu.cr[3]!;
          this.mapWindow(pd & 0xfffff000);
        }
        // Software interrupts and faults in the stub push the guest's (virtual) IF.
        this.setRealIF(this.vIF);
        this.setEip(rs.rewrite.stubAddress!);
      }
    }
  }

  private post(rs: RuntimeSite): void {
    const id = rs.loaded.entry?.id;
    if (id === "mov-to-cr0" || id === "mov-to-cr3" || id === "mov-to-cr4") this.addressSpaceChanged();
    else if (id === "invlpg") this.pageTables.rescan();
    // The 16-bit popf runs in its stub (the inline rewrite is the 32-bit one): the real popfw set the
    // low word of the real flags, IF and IOPL among them, which the virtual flags must now hold.
    else if (id === "popf") this.window.vflags = ((this.window.vflags & ~0xffff) | (this.cpu.getEflags() & 0xffff) | 0x2) >>> 0;
    // Other operations ran with the real IF = vIF and change no flags the wedge keeps.
  }

  /** After cr3/cr0/cr4 changes: map the wedge's window into the new page directory and watch its page tables. */
  addressSpaceChanged(): void {
    const cpu = this.cpu;
    if (!(cpu.cr[0]! & 0x80000000)) return;
    const pd = cpu.cr[3]! & 0xfffff000;
    this.addressSpaces.add(pd);
    this.mapWindow(pd);
    this.pageTables.track(pd);
  }

  /** Point the wedge's slot of a page directory (physical address) at the window's page table. */
  private mapWindow(pd: number): void {
    const mem = this.ctx.machine.memory;
    const slot = pd + WEDGE_PDE_INDEX * 4;
    if (slot + 4 <= mem.size) {
      const want = (WEDGE_VIRT + WEDGE_LAYOUT.pageTable) | 0x3;
      if (mem.read32(slot) >>> 0 !== want >>> 0) this.pageTables.quietly(() => mem.write32(slot, want));
    }
  }

  vcpu(): Record<string, number> {
    return this.window.fields();
  }

  state(): Record<string, string | number | boolean> {
    return {
      wedge: hex(WEDGE_VIRT),
      "virtual IF": this.vIF,
      "interrupt pending": this.inner.hasPending(),
      "rewritten sites": this.sites.length,
      "inline sites": this.sites.filter((s) => s.rewrite === "inline").length,
      "page-table pages watched": this.pageTables.watchedCount(),
      ...this.model.state(this),
    };
  }

  wedgeFrame(): { handler: string; site: number; operation: string } | undefined {
    const cpu = this.cpu;
    const lin = linearEip(cpu);
    if (!inWedge(lin)) return undefined;
    if (lin === WEDGE_ENTRY) {
      const rs = this.byCallReturn.get(read32(cpu, stackTop(cpu)));
      return rs && { handler: "wedge entry (call-out)", site: rs.loaded.start, operation: rs.loaded.insn.text };
    }
    if (lin >= WEDGE_POST && lin < WEDGE_POST + this.rsites.length) {
      const rs = this.rsites[lin - WEDGE_POST]!;
      return { handler: "wedge post (return to the site)", site: rs.loaded.start, operation: rs.loaded.insn.text };
    }
    if (lin >= WEDGE_STUBS) {
      const rs = this.rsites[Math.floor((lin - WEDGE_STUBS) / STUB_SIZE)];
      return rs && { handler: "wedge stub (the operation on the guest's behalf)", site: rs.loaded.start, operation: rs.loaded.insn.text };
    }
    return { handler: "wedge", site: lin, operation: "" };
  }

  snapshot(): unknown {
    const faulted = [...this.faulted].map((rs) => this.rsites.indexOf(rs));
    return { vflags: this.window.vflags, spaces: [...this.addressSpaces], tables: this.pageTables.snapshot(), faulted };
  }

  restore(s: unknown): void {
    const st = s as { vflags: number; spaces: number[]; tables: unknown; faulted: number[] };
    this.window.vflags = st.vflags;
    this.addressSpaces.clear();
    for (const a of st.spaces) this.addressSpaces.add(a);
    this.pageTables.restore(st.tables);
    this.faulted.clear();
    for (const i of st.faulted) this.faulted.add(this.rsites[i]!);
  }

  settle(): void {
    this.pageTables.flush();
  }

  takeStopMessage(): string | undefined {
    const m = this.stopMessage;
    this.stopMessage = undefined;
    return m;
  }
}
