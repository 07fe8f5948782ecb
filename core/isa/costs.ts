// The cost model: cycles per ledger event, per backend. The catalogue's BackendBehaviour.cost keys index this
// table; the wedge's ledger prices every trap, exit, hypercall, IPC, wedge call and inline rewrite with it.
//
// Era: Pentium 4 (NetBurst), the machines of the pre-virtualization papers (2005–2008). A figure is the
// whole cost of one occurrence as the ledger records it (a hypercall figure includes the wedge call that issues it),
// over and above the guest's own work. Several figures are estimates: `basis` says which, and why the number is
// what it is, so a reader can replace it with a measurement.

import type { BackendName } from "./types.js";

export interface CostFigure {
  /** Cycles per occurrence. */
  cycles: number;
  /** Which backend records this event ("any" for backend-independent events). */
  backend: BackendName | "any";
  /** One line: what the event is. */
  event: string;
  /** Where the figure comes from. */
  source: string;
  /** "measured" = a published measurement; "derived" = computed from published figures; "estimate" = reasoned guess. */
  basis: "measured" | "derived" | "estimate";
}

// Building blocks of the estimates (P4, NetBurst): a kernel entry through an interrupt/trap gate plus `iret` costs
// several hundred cycles (the pipeline is drained twice; NetBurst's privilege transitions are notoriously slow).
// We take 700 cycles for a full fault + return round trip. A VT-x exit + entry round trip on NetBurst-generation
// VT parts was in the low thousands of cycles (Adams & Agesen, ASPLOS 2006, and Intel's later VM-exit latency
// trend put Prescott/Cedar Mill far above Core 2); we take 2,400. These two are the anchors below.
const FAULT_ROUND_TRIP = 700;
const VMEXIT_ROUND_TRIP = 2400;
const WEDGE_CALL = 40;

// Figures for the events the wedge's backends record that are not a catalogue site's own behaviour (interrupts,
// exceptions, page-table writes, the base cost of a guest instruction). Part of COSTS below: one table.

export const WEDGE_COSTS: Readonly<Record<string, CostFigure>> = {
  "guest.instruction": {
    cycles: 1,
    backend: "any",
    event: "one guest instruction retired (the base the modelled cycles start from)",
    source:
      "estimate: NetBurst sustains roughly one instruction per cycle on integer kernel code; the model charges every " +
      "retired guest instruction (padding NOPs and inline rewrites included) one cycle and adds the events on top",
    basis: "estimate",
  },
  "missed.trap": {
    cycles: FAULT_ROUND_TRIP + 300,
    backend: "any",
    event: "an unannotated sensitive instruction reaches the hypervisor raw (xen: #GP into Xen; l4: exception IPC)",
    source: "estimate: fault round trip (700) + decode and emulate (~300), as trap.gp-emulate",
    basis: "estimate",
  },
  "xen.hypercall.console_io": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 300,
    backend: "xen",
    event: "a byte to the console → console_io(CONSOLEIO_write, len, buf)",
    source: "estimate: wedge call + hypercall round trip (700) + copying into Xen's console ring (~300)",
    basis: "estimate",
  },
  "xen.hypercall.set_callbacks": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 100,
    backend: "xen",
    event: "set_callbacks(event_cs, event_eip, failsafe_cs, failsafe_eip): the wedge registers its upcall at start",
    source: "estimate: hypercall round trip (700) + storing four words (~100)",
    basis: "estimate",
  },
  "xen.hypercall.mmu_update": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 400,
    backend: "xen",
    event: "annotated page-table write → mmu_update([{ptr, val}]) (one entry, not batched)",
    source: "estimate: hypercall round trip (700) + validating one PTE and its frame's type count (~400)",
    basis: "estimate",
  },
  "xen.ptwr": {
    cycles: FAULT_ROUND_TRIP + 1000,
    backend: "xen",
    event: "unannotated write to a (read-only) page-table page: #PF into Xen, which emulates the write (ptwr)",
    source: "estimate: fault round trip (700) + instruction decode, PTE validation and write emulation (~1,000)",
    basis: "estimate",
  },
  "xen.upcall": {
    cycles: FAULT_ROUND_TRIP + 200,
    backend: "xen",
    event: "event-channel upcall: Xen builds a bounce frame into the wedge's callback, which delivers the virtual IRQ",
    source: "estimate: an entry/exit pair through Xen (700) + the wedge's dispatch through the virtual IDT (~200)",
    basis: "estimate",
  },
  "xen.trap-bounce": {
    cycles: FAULT_ROUND_TRIP + 300,
    backend: "xen",
    event: "guest exception: into Xen, bounced to the guest handler from the trap table (set_trap_table)",
    source: "estimate: fault round trip (700) + building the bounce frame (~300)",
    basis: "estimate",
  },
  "l4.irq-ipc": {
    cycles: WEDGE_CALL + 1000 + 500,
    backend: "l4",
    event: "interrupt: IPC from the IRQ thread, then L4_ExchangeRegisters to redirect the guest thread to the gate",
    source: "estimate: IPC round trip (~1,000, as l4.ipc) + ExchangeRegisters (~500)",
    basis: "estimate",
  },
  "l4.pagefault-ipc": {
    cycles: 1000 + 400,
    backend: "l4",
    event: "page fault: pager IPC (label 0xFFE0–0xFFE7) to the wedge, map reply or a virtual #PF injected",
    source: "estimate: IPC round trip (~1,000) + guest page-table walk and map item (~400)",
    basis: "estimate",
  },
  "l4.exception-ipc": {
    cycles: 1000 + 300,
    backend: "l4",
    event: "exception: exception IPC (label 0xFFB0) to the wedge, reflected through the virtual IDT",
    source: "estimate: IPC round trip (~1,000) + frame construction (~300)",
    basis: "estimate",
  },
  "l4.pt-write": {
    cycles: 1000 + 1500,
    backend: "l4",
    event: "unannotated page-table write caught by a write fault (pager IPC), emulated, old mapping unmapped",
    source: "estimate: pager IPC (~1,000) + emulation and L4_Unmap (~1,500, as l4.unmap)",
    basis: "estimate",
  },
  "vtx.exit.external-interrupt": {
    cycles: VMEXIT_ROUND_TRIP + 400,
    backend: "vtx",
    event: "VM exit reason 1 (external-interrupt exiting), then event injection at VM entry",
    source: "derived: VM exit+entry round trip (2,400) + acknowledging and injecting (~400, estimate)",
    basis: "derived",
  },
  "vtx.exit.exception": {
    cycles: VMEXIT_ROUND_TRIP + 300,
    backend: "vtx",
    event: "VM exit reason 0 (exception in the exception bitmap, e.g. #PF for shadow paging), reinjected",
    source: "derived: VM exit+entry round trip (2,400) + shadow page-table work or reinjection (~300, estimate)",
    basis: "derived",
  },
  "trap.pt-write": {
    cycles: FAULT_ROUND_TRIP + 1000,
    backend: "trap",
    event: "write to a write-protected guest page table: #PF into the VMM, which updates its shadow tables",
    source: "estimate: fault round trip (700) + shadow page-table update (~1,000)",
    basis: "estimate",
  },
};

export const COSTS: Readonly<Record<string, CostFigure>> = {
  ...WEDGE_COSTS,
  native: {
    cycles: 0,
    backend: "any",
    event: "instruction executes as itself (the padding NOPs too)",
    source: "definition: no virtualization overhead beyond the instruction's own cost",
    basis: "derived",
  },
  inline: {
    cycles: 6,
    backend: "any",
    event: "inline vCPU rewrite (a few ALU/memory operations on the vCPU block, no world switch)",
    source:
      "estimate: the rewrites are 3–6 simple instructions on a cache-hot line; NetBurst retires ~1–2 per cycle; " +
      "popf/pushf inside the flag-preserving sequences dominate",
    basis: "estimate",
  },
  "wedge.call": {
    cycles: WEDGE_CALL,
    backend: "any",
    event: "call into the wedge, emulate on the vCPU, return (no world switch)",
    source:
      "estimate: call + save/restore of three registers + a short C/handler body + ret, as in the original " +
      "wedge's burn_* trampolines; an order of magnitude below a fault round trip",
    basis: "estimate",
  },
  "trap.gp-emulate": {
    cycles: FAULT_ROUND_TRIP + 300,
    backend: "trap",
    event: "#GP (or #UD) from a deprivileged guest, VMM decodes and emulates, returns",
    source:
      "estimate: fault + iret round trip (700, NetBurst) + decode and emulate in the VMM (~300); " +
      "the 141-cycle P4 xchg quoted in the original wedge shows how costly serialising operations are",
    basis: "estimate",
  },
  "trap.io-emulate": {
    cycles: FAULT_ROUND_TRIP + 800,
    backend: "trap",
    event: "#GP on an I/O instruction, VMM emulates the device access",
    source: "estimate: fault round trip (700) + decode + device model dispatch (~800)",
    basis: "estimate",
  },
  "trap.reflect": {
    cycles: FAULT_ROUND_TRIP + 400,
    backend: "trap",
    event: "software interrupt/exception enters the VMM, which reflects it through the guest's virtual IDT",
    source: "estimate: fault round trip (700) + building the guest's frame from its virtual IDT gate (~400)",
    basis: "estimate",
  },
  "vtx.exit.cpuid": {
    cycles: VMEXIT_ROUND_TRIP + 200,
    backend: "vtx",
    event: "VM exit reason 10 (CPUID, unconditional), emulate, VM entry",
    source: "derived: VM exit+entry round trip (2,400, NetBurst VT) + cpuid emulation (~200, estimate)",
    basis: "derived",
  },
  "vtx.exit.hlt": {
    cycles: VMEXIT_ROUND_TRIP,
    backend: "vtx",
    event: "VM exit reason 12 (HLT exiting); idle time itself is not charged",
    source: "derived: VM exit+entry round trip (2,400)",
    basis: "derived",
  },
  "vtx.exit.cr-access": {
    cycles: VMEXIT_ROUND_TRIP + 600,
    backend: "vtx",
    event: "VM exit reason 28 (control-register access: CR3-load/store exiting, CR0/CR4 mask, CR8)",
    source:
      "derived: round trip (2,400) + emulation; a cr3 load with shadow paging (no EPT on NetBurst) costs more, " +
      "which the ledger charges separately as page-table work (~600 here is the register update alone, estimate)",
    basis: "derived",
  },
  "vtx.exit.dr-access": {
    cycles: VMEXIT_ROUND_TRIP + 200,
    backend: "vtx",
    event: "VM exit reason 29 (MOV-DR exiting)",
    source: "derived: round trip (2,400) + register emulation (~200, estimate)",
    basis: "derived",
  },
  "vtx.exit.io": {
    cycles: VMEXIT_ROUND_TRIP + 800,
    backend: "vtx",
    event: "VM exit reason 30 (I/O instruction: unconditional I/O exiting or I/O bitmap)",
    source: "derived: round trip (2,400) + device model dispatch (~800, estimate, in-VMM model)",
    basis: "derived",
  },
  "vtx.exit.msr": {
    cycles: VMEXIT_ROUND_TRIP + 200,
    backend: "vtx",
    event: "VM exit reasons 31/32 (RDMSR/WRMSR; always without MSR bitmaps)",
    source: "derived: round trip (2,400) + MSR emulation (~200, estimate)",
    basis: "derived",
  },
  "vtx.exit.invlpg": {
    cycles: VMEXIT_ROUND_TRIP + 500,
    backend: "vtx",
    event: "VM exit reason 14 (INVLPG exiting, needed for shadow paging)",
    source: "derived: round trip (2,400) + shadow page table invalidation (~500, estimate)",
    basis: "derived",
  },
  "vtx.exit.cache": {
    cycles: VMEXIT_ROUND_TRIP + 200,
    backend: "vtx",
    event: "VM exit reason 13/54 (INVD unconditional, WBINVD exiting, which covers WBNOINVD); the flush itself is not modelled",
    source: "derived: round trip (2,400) + emulation (~200, estimate)",
    basis: "derived",
  },
  "vtx.exit.xsetbv": {
    cycles: VMEXIT_ROUND_TRIP + 200,
    backend: "vtx",
    event: "VM exit reason 55 (XSETBV, unconditional once CR4.OSXSAVE is set)",
    source: "derived: round trip (2,400) + checking and loading XCR0 (~200, estimate, as for an MSR write)",
    basis: "derived",
  },
  "vtx.exit.monitor-mwait": {
    cycles: VMEXIT_ROUND_TRIP,
    backend: "vtx",
    event: "VM exit reason 39/36 (MONITOR exiting, MWAIT exiting); idle time after an mwait is not charged",
    source: "derived: VM exit+entry round trip (2,400), as for HLT exiting",
    basis: "derived",
  },
  "vtx.exit.task-switch": {
    cycles: VMEXIT_ROUND_TRIP + 2000,
    backend: "vtx",
    event: "VM exit reason 9 (task switch through a task gate or TSS selector: always exits)",
    source: "derived: round trip (2,400) + software task switch (~2,000, estimate)",
    basis: "derived",
  },
  "xen.hypercall.sched_op": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 300,
    backend: "xen",
    event: "hlt → sched_op(SCHEDOP_block) (kaxen: set_timer_op + block); blocked time is not charged",
    source: "estimate: wedge call + int $0x82 round trip (700) + scheduler entry (~300)",
    basis: "estimate",
  },
  "xen.hypercall.iret": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 200,
    backend: "xen",
    event: "iret to user / with an IF change → HYPERVISOR_iret (hypercall 23)",
    source: "estimate: wedge call + hypercall round trip (700) + frame checks (~200)",
    basis: "estimate",
  },
  "xen.hypercall.set_gdt": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 1500,
    backend: "xen",
    event: "lgdt → set_gdt(frame_list, entries): Xen validates every descriptor frame",
    source: "estimate: hypercall round trip (700) + validating and mapping the GDT frames (~1,500)",
    basis: "estimate",
  },
  "xen.hypercall.set_trap_table": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 2500,
    backend: "xen",
    event: "lidt → set_trap_table(trap_info[]) built from the guest IDT (up to 256 gates)",
    source: "estimate: hypercall round trip (700) + copying/validating up to 256 trap_info entries (~10 cycles each)",
    basis: "estimate",
  },
  "xen.hypercall.mmuext_op": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 1200,
    backend: "xen",
    event: "mov %cr3 → mmuext_op(PIN_L2_TABLE, NEW_BASEPTR); invlpg → MMUEXT_INVLPG_LOCAL; lldt → SET_LDT",
    source:
      "estimate: hypercall round trip (700) + base-pointer switch and TLB flush (~1,200; NetBurst refills its " +
      "TLBs slowly); pinning a never-pinned table costs far more and is charged as page-table work",
    basis: "estimate",
  },
  "xen.hypercall.stack_switch": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 100,
    backend: "xen",
    event: "ltr / TSS esp0 change → stack_switch(ss, esp)",
    source: "estimate: hypercall round trip (700) + storing ss/esp (~100)",
    basis: "estimate",
  },
  "xen.hypercall.fpu_taskswitch": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 100,
    backend: "xen",
    event: "clts / cr0.TS change → fpu_taskswitch(set)",
    source: "estimate: hypercall round trip (700) + a real clts/mov cr0 in Xen (~100)",
    basis: "estimate",
  },
  "xen.hypercall.set_segment_base": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 100,
    backend: "xen",
    event: "wrfsbase / wrgsbase → set_segment_base(SEGBASE_FS or SEGBASE_GS_KERNEL, value) (64-bit PV)",
    source: "estimate: hypercall round trip (700) + a real wrmsr of the base in Xen (~100)",
    basis: "estimate",
  },
  "xen.hypercall.set_debugreg": {
    cycles: WEDGE_CALL + FAULT_ROUND_TRIP + 100,
    backend: "xen",
    event: "mov to %drN → set_debugreg(reg, value)",
    source: "estimate: hypercall round trip (700) + validation (~100)",
    basis: "estimate",
  },
  "l4.ipc": {
    cycles: WEDGE_CALL + 1000,
    backend: "l4",
    event: "IPC from the wedge to another L4 thread (resource monitor, IRQ thread, user-process dispatch loop)",
    source:
      "estimate: L4Ka::Pistachio's IPC path is a few hundred cycles one way on P4 when no address-space switch " +
      "is needed; with the switch and its TLB flush a round trip reaches ~1,000",
    basis: "estimate",
  },
  "l4.unmap": {
    cycles: WEDGE_CALL + 1500,
    backend: "l4",
    event: "L4_Unmap/L4_Flush of guest mappings (cr3 switch, invlpg, cache flush)",
    source: "estimate: system call (~400) + mapping-database walk + TLB invalidation (~1,100)",
    basis: "estimate",
  },
};

export type CostKey = keyof typeof COSTS;

/** Cycles for a cost key; throws on an unknown key so a typo in a backend table cannot price an event at zero. */
export function cyclesFor(key: string): number {
  const c = COSTS[key];
  if (!c) throw new Error(`unknown cost key "${key}" (core/isa/costs.ts)`);
  return c.cycles;
}
