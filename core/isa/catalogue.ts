// THE catalogue: one record per virtualization-sensitive x86 instruction form (IA-32 and x86-64).
// Everything that needs to know what is sensitive reads this table: the afterburner's padding, the language
// server's diagnostics and hovers, the wedge's rewriter, the emulator's hook list and the ledger's cost keys.
//
// Padding rule: the original afterburner's value (asm-parser/Asm.g) is the baseline; where the rewrite below needs
// more room, padding grows until (shortest encoding) + padding ≥ room. Forms the original did not annotate get
// exactly room − shortest encoding. Call-outs are `call rel32` (5 bytes) into the wedge's entry region: the
// handler identifies the site by its return address, decodes the saved original bytes, emulates on the vCPU,
// drops the return address and resumes at the site end (or at the transfer target for control transfers).
// Inline rewrites address the vCPU block (core/isa/vcpu-layout.ts) with absolute disp32 operands and keep the
// real arithmetic flags intact (they save/restore them with pushf/popf, which are harmless when deprivileged).
// The strict sti/popf rewrites embed a `call @wedge` that runs only when vcpu.pending is nonzero: that call is the
// wedge's "deliver pending interrupt" service, which returns to the instruction after the call (label 1 inside
// the site), not to the site end; the interrupt frame it builds returns there too.
// Sizes in the descriptions are checked: test/core/isa assembles every asm32/asm64 sequence with GNU as.

import type { BackendBehaviour, CatalogueEntry, RewriteSpec } from "./types.js";

// ---------- backend behaviour builders ----------

const RAW: BackendBehaviour = {
  action: "native",
  detail: "executes as itself at ring 0; the padding NOPs execute after it",
  cost: "native",
};
const native = (detail: string): BackendBehaviour => ({ action: "native", detail, cost: "native" });
const trapGp = (detail: string): BackendBehaviour => ({ action: "trap", detail, cost: "trap.gp-emulate" });
const trapIo = (detail: string): BackendBehaviour => ({ action: "trap", detail, cost: "trap.io-emulate" });
const trapReflect = (detail: string): BackendBehaviour => ({ action: "trap", detail, cost: "trap.reflect" });
const hole = (detail: string): BackendBehaviour => ({ action: "silent-wrong", detail, cost: "native" });
const exit = (detail: string, cost: string): BackendBehaviour => ({ action: "vm-exit", detail, cost });
const inline = (detail: string): BackendBehaviour => ({ action: "inline", detail, cost: "inline" });
const wcall = (detail: string): BackendBehaviour => ({ action: "wedge-call", detail, cost: "wedge.call" });
const hcall = (name: string, detail: string): BackendBehaviour => ({
  action: "hypercall",
  detail,
  cost: `xen.hypercall.${name}`,
});
const ipc = (detail: string, cost = "l4.ipc"): BackendBehaviour => ({ action: "ipc", detail, cost });

// ---------- rewrite builders ----------

/** The call-out rewrite: 5 bytes, the TypeScript handler does the rest. */
function callout(handler: string): RewriteSpec {
  return {
    kind: "call",
    description:
      `call rel32 @wedge (E8 rel32, 5 bytes); the handler finds the site from the return address, decodes the ` +
      `saved original instruction (prefixes, operand size and ModRM included; ESP-relative operands are taken ` +
      `relative to the ESP before the call) and ${handler}`,
    room: 5,
    asm32: ["call @wedge"],
    asm64: ["call @wedge"],
  };
}

const RESUME = "then pops the return address and resumes at the site end";

const WHY_PG = "Popek & Goldberg (1974): a privileged instruction traps when executed deprivileged";
const WHY_RI = "Robin & Irvine (2000) list it among the 17 (18 mnemonics) sensitive but unprivileged Pentium instructions";
/** The citations `why` texts are built with: a diagnostic's one-line message leaves them to the hover. */
export const WHY_CITATIONS: readonly string[] = [WHY_PG, WHY_RI];

const SREGS = ["es", "cs", "ss", "ds", "fs", "gs"] as const;
const DREGS = ["db0", "db1", "db2", "db3", "db4", "db5", "db6", "db7", "dr0", "dr1", "dr2", "dr3", "dr4", "dr5", "dr6", "dr7"];

// ---------- control-register entries (one per register and direction: backends differ per register) ----------

function movFromCr(n: 0 | 2 | 3 | 4 | 8): CatalogueEntry {
  const vtx: BackendBehaviour =
    n === 3
      ? exit("CR3-store exiting (needed for shadow paging without EPT)", "vtx.exit.cr-access")
      : n === 8
        ? exit("CR8-store exiting unless the TPR shadow is used", "vtx.exit.cr-access")
        : n === 2
          ? native("cr2 is not intercepted: the guest's own value after VM entry")
          : native("reads of masked bits return the CR read shadow: no exit");
  return {
    id: `mov-from-cr${n}`,
    mnemonics: ["mov", "movl", "movq"],
    condition: { kind: "register", registers: [`cr${n}`], position: "src" },
    class: "privileged",
    modes: n === 8 ? ["x86-64"] : ["ia32", "x86-64"],
    padding: 12,
    rewrite: {
      kind: "inline",
      description:
        `load the virtual cr${n}: movl @vcpu.cr${n},%reg (A1 moffs32 = 5 bytes for %eax, 8B /r disp32 = 6 otherwise; ` +
        `64-bit: movq with SIB absolute disp32 = 8). A memory destination does not exist for mov from %crN.`,
      room: 6,
      room64: 8,
      asm32: n === 8 ? undefined : [`movl @vcpu.cr${n}, %ecx`],
      asm64: [`movq @vcpu.cr${n}, %r9`],
    },
    meaning: `Copies control register cr${n} into a general register.`,
    why: `${WHY_PG}: mov from %cr${n} faults at CPL>0; a guest must see its virtual cr${n}, not the host's.`,
    backends: {
      raw: RAW,
      trap: trapGp(`#GP at CPL>0 → VMM returns the virtual cr${n}`),
      vtx,
      xen: inline(`loads the wedge's virtual cr${n}`),
      l4: inline(`loads the wedge's virtual cr${n}`),
    },
    opcodes: [{ opcode: 0x120, reg: n }],
    icedCodes: n === 8 ? ["Mov_r64_cr"] : ["Mov_r32_cr", "Mov_r64_cr"],
    example: n === 8 ? { att64: "mov %cr8,%rax" } : { att32: `mov %cr${n},%eax`, att64: `mov %cr${n},%rax` },
    originalPadding: 12,
  };
}

function movToCr(n: 0 | 2 | 3 | 4 | 8): CatalogueEntry {
  const meaningOf: Record<number, string> = {
    0: "Writes cr0 (PE, PG, WP, TS, ...): switches protection and paging, and the lazy-FPU TS bit.",
    2: "Writes cr2 (the page-fault linear address register).",
    3: "Writes cr3: switches the page directory and flushes the non-global TLB entries.",
    4: "Writes cr4 (PSE, PAE, PGE, ...); clearing PGE flushes global TLB entries.",
    8: "Writes cr8, the task-priority register (64-bit mode).",
  };
  const rewrite: RewriteSpec =
    n === 2
      ? {
          kind: "inline",
          description:
            "store the virtual cr2: movl %reg,@vcpu.cr2 (A3 moffs32 = 5 bytes for %eax, 89 /r disp32 = 6; " +
            "64-bit: movq with SIB absolute disp32 = 8)",
          room: 6,
          room64: 8,
          asm32: ["movl %ecx, @vcpu.cr2"],
          asm64: ["movq %r9, @vcpu.cr2"],
        }
      : callout(
          n === 0
            ? `stores the virtual cr0 and acts on changed bits (PG on: enable guest paging; TS: FPU switch), ${RESUME}`
            : n === 3
              ? `switches the virtual address space to the new page directory, ${RESUME}`
              : n === 4
                ? `stores the virtual cr4 (PGE cleared: flush global TLB entries), ${RESUME}`
                : `stores the virtual TPR and re-evaluates pending interrupts, ${RESUME}`,
        );
  const xen: BackendBehaviour =
    n === 3
      ? hcall("mmuext_op", "mmuext_op(MMUEXT_PIN_L2_TABLE) if not yet pinned, then mmuext_op(MMUEXT_NEW_BASEPTR)")
      : n === 0
        ? wcall("updates the virtual cr0; TS change → fpu_taskswitch, PG on → pin the page directory")
        : n === 4
          ? wcall("updates the virtual cr4; PGE cleared → mmuext_op(MMUEXT_TLB_FLUSH_LOCAL)")
          : n === 2
            ? inline("stores the virtual cr2")
            : wcall("updates the virtual TPR");
  const l4: BackendBehaviour =
    n === 3
      ? ipc("unmaps the mappings that differ between the old and new page directory (L4_Unmap)", "l4.unmap")
      : n === 0
        ? wcall("updates the virtual cr0; PG on → IPC to the resource monitor (set virtual offset)")
        : n === 2
          ? inline("stores the virtual cr2")
          : wcall(`updates the virtual cr${n}`);
  const vtx: BackendBehaviour =
    n === 3
      ? exit("CR3-load exiting (shadow paging without EPT), unless the value is in the CR3-target list", "vtx.exit.cr-access")
      : n === 2
        ? native("cr2 writes are not intercepted")
        : n === 8
          ? exit("CR8-load exiting unless the TPR shadow is used", "vtx.exit.cr-access")
          : exit(`exits when a bit set in the cr${n} guest/host mask differs from the read shadow`, "vtx.exit.cr-access");
  return {
    id: `mov-to-cr${n}`,
    mnemonics: ["mov", "movl", "movq"],
    condition: { kind: "register", registers: [`cr${n}`], position: "dst" },
    class: "privileged",
    modes: n === 8 ? ["x86-64"] : ["ia32", "x86-64"],
    padding: 12,
    rewrite,
    meaning: meaningOf[n]!,
    why: `${WHY_PG}: mov to %cr${n} faults at CPL>0; the guest may only change its virtual cr${n}.`,
    backends: {
      raw: RAW,
      trap: trapGp(`#GP at CPL>0 → VMM updates the virtual cr${n}` + (n === 3 ? " and its shadow page tables" : "")),
      vtx,
      xen,
      l4,
    },
    opcodes: [{ opcode: 0x122, reg: n }],
    icedCodes: n === 8 ? ["Mov_cr_r64"] : ["Mov_cr_r32", "Mov_cr_r64"],
    example: n === 8 ? { att64: "mov %rax,%cr8" } : { att32: `mov %eax,%cr${n}`, att64: `mov %rax,%cr${n}` },
    originalPadding: 12,
  };
}

// ---------- the table ----------

export const CATALOGUE: readonly CatalogueEntry[] = [
  // ----- interrupt flag -----
  {
    id: "cli",
    mnemonics: ["cli"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 8,
    padding64: 9,
    rewrite: {
      kind: "inline",
      description:
        "clear the virtual IF, keeping the real flags: pushfl (9C, 1); andb $0xfd,@vcpu.flags+1 (80 25 disp32 FD, 7); " +
        "popfl (9D, 1) = 9 bytes. 64-bit: pushfq; andb with SIB absolute disp32 (8); popfq = 10.",
      room: 9,
      room64: 10,
      asm32: ["pushfl", "andb $0xfd, @vcpu.flags+1", "popfl"],
      asm64: ["pushfq", "andb $0xfd, @vcpu.flags+1", "popfq"],
    },
    meaning: "Clears the interrupt flag: maskable interrupts are held off.",
    why: `IOPL-sensitive: faults when CPL > IOPL (${WHY_PG}); a deprivileged guest must only disable its virtual interrupts.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP (CPL > IOPL) → VMM clears the virtual IF"),
      vtx: native("no VM exit: the guest owns RFLAGS.IF in non-root mode"),
      xen: inline("clears the virtual IF (the wedge's mirror of evtchn_upcall_mask): no hypercall"),
      l4: inline("clears the virtual IF in the wedge's vCPU: no IPC"),
    },
    opcodes: [{ opcode: 0xfa }],
    icedCodes: ["Cli"],
    example: { att32: "cli", att64: "cli" },
    originalPadding: 7,
  },
  {
    id: "sti",
    mnemonics: ["sti"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 23,
    padding64: 24,
    rewrite: {
      kind: "inline",
      description:
        "strict sti: pushfl (1); orb $0x02,@vcpu.flags+1 (80 0D disp32 02, 7); cmpb $0,@vcpu.pending (80 3D disp32 00, 7); " +
        "je 1f (74 05, 2); call @wedge (E8 rel32, 5: deliver the pending interrupt, honouring the sti shadow: when the " +
        "next instruction is a rewritten hlt site the interrupt is left pending for it); 1: popfl (1) = 23 bytes. " +
        "The interrupt frame takes the guest's arithmetic flags from the pushed image at (%esp). 64-bit: SIB absolute " +
        "forms (8 + 8) = 25 bytes.",
      room: 23,
      room64: 25,
      asm32: ["pushfl", "orb $0x02, @vcpu.flags+1", "cmpb $0, @vcpu.pending", "je 1f", "call @wedge", "1: popfl"],
      asm64: ["pushfq", "orb $0x02, @vcpu.flags+1", "cmpb $0, @vcpu.pending", "je 1f", "call @wedge", "1: popfq"],
    },
    meaning: "Sets the interrupt flag: maskable interrupts are accepted after the next instruction.",
    why: `IOPL-sensitive: faults when CPL > IOPL (${WHY_PG}); enabling virtual interrupts must deliver any pending one.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP (CPL > IOPL) → VMM sets the virtual IF and injects a pending interrupt"),
      vtx: native("no VM exit; a pending virtual interrupt is injected via interrupt-window exiting"),
      xen: inline("sets the virtual IF; calls the wedge to deliver only when an event is pending"),
      l4: inline("sets the virtual IF; calls the wedge to deliver only when an IRQ is pending"),
    },
    opcodes: [{ opcode: 0xfb }],
    icedCodes: ["Sti"],
    example: { att32: "sti", att64: "sti" },
    originalPadding: 23,
  },
  {
    id: "pushf",
    mnemonics: ["pushf", "pushfl", "pushfd", "pushfw", "pushfq"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 19,
    padding64: 21,
    rewrite: {
      kind: "inline",
      description:
        "push the real flags with the virtual IF/IOPL merged in: pushfl (1); pushfl (1); pushl %eax (1); " +
        "movb @vcpu.flags+1,%al (A0 moffs32, 5); xorb 9(%esp),%al (32 44 24 09, 4); andb $0x32,%al (24 32, 2); " +
        "xorb %al,9(%esp) (30 44 24 09, 4); popl %eax (1); popfl (1) = 20 bytes (0x32 = IF and IOPL in flags byte 1; " +
        "the second pushfl/popfl pair restores the real flags the merge clobbers). 64-bit: same with pushfq/%rax/17(%rsp) " +
        "and a SIB absolute movb (7) = 22. pushfw (66 9C) uses the 5-byte call-out instead.",
      room: 20,
      room64: 22,
      asm32: ["pushfl", "pushfl", "pushl %eax", "movb @vcpu.flags+1, %al", "xorb 9(%esp), %al", "andb $0x32, %al", "xorb %al, 9(%esp)", "popl %eax", "popfl"],
      asm64: ["pushfq", "pushfq", "pushq %rax", "movb @vcpu.flags+1, %al", "xorb 17(%rsp), %al", "andb $0x32, %al", "xorb %al, 17(%rsp)", "popq %rax", "popfq"],
    },
    meaning: "Pushes EFLAGS (including IF and IOPL) onto the stack.",
    why: `${WHY_RI}: at CPL>0 it runs without a fault and reveals the real IF and IOPL instead of the guest's.`,
    backends: {
      raw: RAW,
      trap: hole("pushes the real IF (always 1 while the guest runs) and IOPL: the guest sees interrupts enabled"),
      vtx: native("no VM exit: the guest's own RFLAGS"),
      xen: inline("pushes the real flags with the virtual IF/IOPL merged in"),
      l4: inline("pushes the real flags with the virtual IF/IOPL merged in"),
    },
    opcodes: [{ opcode: 0x9c }],
    icedCodes: ["Pushfw", "Pushfd", "Pushfq"],
    example: { att32: "pushfl", att64: "pushfq" },
    originalPadding: 5,
  },
  {
    id: "popf",
    mnemonics: ["popf", "popfl", "popfd", "popfw", "popfq"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 26,
    padding64: 29,
    rewrite: {
      kind: "inline",
      description:
        "strict popf: popl @vcpu.flags (8F 05 disp32, 6: the popped image becomes the virtual flags); " +
        "cmpb $0,@vcpu.pending (7); je 1f (2); call @wedge (5: delivers the pending interrupt if the new virtual IF " +
        "is set, else returns at once); 1: pushl @vcpu.flags (FF 35 disp32, 6); popfl (1: the real arithmetic flags " +
        "from the image; IF/IOPL are ignored deprivileged) = 27 bytes. 64-bit: SIB absolute forms = 30. " +
        "popfw (66 9D) uses the 5-byte call-out instead.",
      room: 27,
      room64: 30,
      asm32: ["popl @vcpu.flags", "cmpb $0, @vcpu.pending", "je 1f", "call @wedge", "1: pushl @vcpu.flags", "popfl"],
      asm64: ["popq @vcpu.flags", "cmpb $0, @vcpu.pending", "je 1f", "call @wedge", "1: pushq @vcpu.flags", "popfq"],
    },
    meaning: "Pops EFLAGS from the stack (IF and IOPL only change at sufficient privilege).",
    why: `${WHY_RI}: at CPL>0 it silently ignores changes to IF (CPL > IOPL) and IOPL (CPL > 0): no trap, wrong result.`,
    backends: {
      raw: RAW,
      trap: hole("the IF and IOPL bits of the popped value are silently dropped: interrupts stay as they were"),
      vtx: native("no VM exit: the guest's own RFLAGS"),
      xen: inline("updates the virtual flags; calls the wedge only when an event is pending"),
      l4: inline("updates the virtual flags; calls the wedge only when an IRQ is pending"),
    },
    opcodes: [{ opcode: 0x9d }],
    icedCodes: ["Popfw", "Popfd", "Popfq"],
    example: { att32: "popfl", att64: "popfq" },
    originalPadding: 21,
  },

  // ----- control transfers across privilege / segment boundaries -----
  {
    id: "iret",
    mnemonics: ["iret", "iretl", "iretd", "iretw", "iretq"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 4,
    rewrite: callout(
      "emulates the return from the frame: virtual flags and cs restored, pending interrupts redirected, user returns " +
      "through the backend; it resumes at the popped EIP",
    ),
    meaning: "Returns from an interrupt: pops EIP, CS and EFLAGS (and ESP, SS on a privilege change).",
    why: `${WHY_RI} (protection-system reference, and it pops EFLAGS like popf): at CPL>0 the IF/IOPL changes are ignored and the CPL checks use the real ring.`,
    backends: {
      raw: RAW,
      trap: trapGp("a return to the guest kernel's RPL 0 selectors faults (#GP) → VMM emulates; IF changes at equal privilege are silently lost"),
      vtx: native("no VM exit unless it is a task return (NT=1) → task-switch exit"),
      xen: hcall("iret", "to kernel: emulated in the wedge; to user or with an IF change: HYPERVISOR_iret"),
      l4: ipc("to kernel: emulated in the wedge; to user: reply to the user thread's exception IPC (ReplyWait loop)"),
    },
    opcodes: [{ opcode: 0xcf }],
    icedCodes: ["Iretw", "Iretd", "Iretq"],
    example: { att32: "iret", att64: "iretq" },
    originalPadding: 4,
  },
  {
    id: "lret",
    mnemonics: ["lret", "lretl", "lretw", "lretq"],
    condition: { kind: "count", count: 0 },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 4,
    rewrite: callout("pops EIP and CS, sets the virtual cs and resumes at the popped EIP (in the wedge's flat code segment)"),
    meaning: "Far return: pops EIP and CS.",
    why: `${WHY_RI}: far RET compares the popped RPL with the real CPL.`,
    backends: {
      raw: RAW,
      trap: trapGp("a return to an RPL 0 selector from ring 1 faults (#GP) → VMM emulates"),
      vtx: native("no VM exit"),
      xen: wcall("sets the virtual cs; real far return with the wedge's ring-1 cs"),
      l4: wcall("sets the virtual cs; continues in the wedge's flat code segment"),
    },
    opcodes: [{ opcode: 0xcb }],
    icedCodes: ["Retfw", "Retfd", "Retfq"],
    example: { att32: "lret", att64: "lretq" },
    originalPadding: 4,
  },
  {
    id: "lret-imm",
    mnemonics: ["lret", "lretl", "lretw", "lretq"],
    condition: { kind: "first", operand: "imm" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 4,
    rewrite: callout("pops EIP and CS, releases imm16 bytes of parameters, sets the virtual cs and resumes at the popped EIP"),
    meaning: "Far return that also releases n bytes of stack parameters.",
    why: `${WHY_RI}: far RET compares the popped RPL with the real CPL.`,
    backends: {
      raw: RAW,
      trap: trapGp("a return to an RPL 0 selector from ring 1 faults (#GP) → VMM emulates"),
      vtx: native("no VM exit"),
      xen: wcall("sets the virtual cs; real far return with the wedge's ring-1 cs"),
      l4: wcall("sets the virtual cs; continues in the wedge's flat code segment"),
    },
    opcodes: [{ opcode: 0xca }],
    icedCodes: ["Retfw_imm16", "Retfd_imm16", "Retfq_imm16"],
    example: { att32: "lret $8", att64: "lretq $8" },
    originalPadding: 4,
  },
  {
    id: "ljmp-direct",
    mnemonics: ["ljmp", "ljmpl", "ljmpw"],
    condition: { kind: "far", form: "direct" },
    class: "sensitive",
    modes: ["ia32"],
    padding: 9,
    rewrite: callout("sets the virtual cs to the selector and resumes at the offset in the wedge's code segment"),
    meaning: "Far jump to selector:offset (e.g. the jump into protected mode).",
    why: `${WHY_RI}: a far JMP checks the target's privilege against the real CPL; through a task gate it switches tasks.`,
    backends: {
      raw: RAW,
      trap: trapGp("a jump to a DPL 0 code segment from ring 1 faults (#GP) → VMM emulates"),
      vtx: native("no VM exit unless the target is a TSS or task gate (task-switch exit)"),
      xen: wcall("sets the virtual cs; continues in the ring-1 flat code segment"),
      l4: wcall("sets the virtual cs; continues in the wedge's flat code segment"),
    },
    opcodes: [{ opcode: 0xea }],
    icedCodes: ["Jmp_ptr1616", "Jmp_ptr1632"],
    example: { att32: "ljmp $0x10,$0x1000" },
    originalPadding: 9,
  },
  {
    id: "ljmp-indirect",
    mnemonics: ["ljmp", "ljmpl", "ljmpw", "ljmpq"],
    condition: { kind: "far", form: "indirect" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 9,
    rewrite: callout("reads the far pointer, sets the virtual cs and resumes at the offset"),
    meaning: "Far jump through a selector:offset pointer in memory.",
    why: `${WHY_RI}: a far JMP checks the target's privilege against the real CPL.`,
    backends: {
      raw: RAW,
      trap: trapGp("a jump to a DPL 0 code segment from ring 1 faults (#GP) → VMM emulates"),
      vtx: native("no VM exit unless the target is a TSS or task gate (task-switch exit)"),
      xen: wcall("sets the virtual cs; continues in the ring-1 flat code segment"),
      l4: wcall("sets the virtual cs; continues in the wedge's flat code segment"),
    },
    opcodes: [{ opcode: 0xff, reg: 5, mem: true }],
    icedCodes: ["Jmp_m1616", "Jmp_m1632", "Jmp_m1664"],
    example: { att32: "ljmp *(%eax)", att64: "ljmp *(%rax)" },
    originalPadding: 9,
  },
  {
    id: "lcall-direct",
    mnemonics: ["lcall", "lcalll", "lcallw"],
    condition: { kind: "far", form: "direct" },
    class: "sensitive",
    modes: ["ia32"],
    padding: 8,
    rewrite: callout("pushes the virtual cs and the return offset (the site end), sets the virtual cs and resumes at the target"),
    meaning: "Far call to selector:offset (call gates included).",
    why: `${WHY_RI}: a far CALL pushes the real CS (RPL shows the real ring) and checks privileges against the real CPL.`,
    backends: {
      raw: RAW,
      trap: trapGp("a call into a DPL 0 code segment from ring 1 faults (#GP) → VMM emulates"),
      vtx: native("no VM exit unless the target is a TSS or task gate (task-switch exit)"),
      xen: wcall("pushes the virtual cs; continues in the ring-1 flat code segment"),
      l4: wcall("pushes the virtual cs; continues in the wedge's flat code segment"),
    },
    opcodes: [{ opcode: 0x9a }],
    icedCodes: ["Call_ptr1616", "Call_ptr1632"],
    example: { att32: "lcall $0x10,$0x1000" },
    originalPadding: 8,
  },
  {
    id: "lcall-indirect",
    mnemonics: ["lcall", "lcalll", "lcallw", "lcallq"],
    condition: { kind: "far", form: "indirect" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout("reads the far pointer, pushes the virtual cs and the return offset, sets the virtual cs and resumes at the target"),
    meaning: "Far call through a selector:offset pointer in memory.",
    why: `${WHY_RI}: a far CALL pushes the real CS and checks privileges against the real CPL.`,
    backends: {
      raw: RAW,
      trap: trapGp("a call into a DPL 0 code segment from ring 1 faults (#GP) → VMM emulates"),
      vtx: native("no VM exit unless the target is a TSS or task gate (task-switch exit)"),
      xen: wcall("pushes the virtual cs; continues in the ring-1 flat code segment"),
      l4: wcall("pushes the virtual cs; continues in the wedge's flat code segment"),
    },
    opcodes: [{ opcode: 0xff, reg: 3, mem: true }],
    icedCodes: ["Call_m1616", "Call_m1632", "Call_m1664"],
    example: { att32: "lcall *(%eax)", att64: "lcall *(%rax)" },
    originalPadding: 8,
  },

  // ----- software interrupts -----
  {
    id: "int",
    mnemonics: ["int"],
    condition: { kind: "first", operand: "imm" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 11,
    rewrite: callout("delivers the vector through the guest's virtual IDT gate (DPL checked against the virtual CPL) and resumes at the handler"),
    meaning: "Software interrupt n through the IDT (system calls, BIOS-style services).",
    why: `${WHY_RI} (INT n checks the gate DPL against the real CPL); the real IDT belongs to the hypervisor, so the vector must reach the guest's virtual IDT.`,
    backends: {
      raw: RAW,
      trap: trapReflect("enters the VMM's IDT; the VMM reflects it through the guest's virtual IDT"),
      vtx: native("no VM exit: delivered through the guest IDT (unless the vector is in the exception bitmap)"),
      xen: wcall("emulates the gate from the virtual IDT (int $0x80 from user can use Xen's fast trap instead)"),
      l4: wcall("emulates the gate from the virtual IDT"),
    },
    opcodes: [{ opcode: 0xcd }],
    icedCodes: ["Int_imm8"],
    example: { att32: "int $0x80", att64: "int $0x80" },
    originalPadding: 11,
  },
  {
    id: "int3",
    mnemonics: ["int3"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 4,
    rewrite: callout("delivers vector 3 (#BP, trap-style: the saved EIP is the site end) through the virtual IDT"),
    meaning: "Breakpoint trap (#BP), the one-byte int $3.",
    why: "Not privileged, but it enters the (hypervisor-owned) real IDT; the breakpoint must reach the guest's virtual IDT.",
    backends: {
      raw: RAW,
      trap: trapReflect("#BP enters the VMM, which reflects it to the guest"),
      vtx: native("no VM exit unless #BP is in the exception bitmap (debugger attached)"),
      xen: wcall("delivers #BP through the virtual IDT"),
      l4: wcall("delivers #BP through the virtual IDT (the original moved int3 past the padding for the kernel debugger)"),
    },
    opcodes: [{ opcode: 0xcc }],
    icedCodes: ["Int3"],
    example: { att32: "int3", att64: "int3" },
  },
  {
    id: "into",
    mnemonics: ["into"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32"],
    padding: 4,
    rewrite: callout("delivers vector 4 (#OF) through the virtual IDT when the real OF flag is set, else resumes at the site end"),
    meaning: "Overflow trap: int 4 when OF is set (invalid in 64-bit mode).",
    why: "Not privileged, but it enters the real IDT; the overflow trap must reach the guest's virtual IDT.",
    backends: {
      raw: RAW,
      trap: trapReflect("#OF enters the VMM, which reflects it to the guest"),
      vtx: native("no VM exit unless #OF is in the exception bitmap"),
      xen: wcall("delivers #OF through the virtual IDT when OF is set"),
      l4: wcall("delivers #OF through the virtual IDT when OF is set"),
    },
    opcodes: [{ opcode: 0xce }],
    icedCodes: ["Into"],
    example: { att32: "into" },
  },
  {
    id: "int1",
    mnemonics: ["int1", "icebp"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 4,
    rewrite: callout("delivers vector 1 (#DB) through the virtual IDT"),
    meaning: "ICEBP: one-byte debug trap (#DB).",
    why: "Not privileged, but it enters the real IDT; the debug trap must reach the guest's virtual IDT.",
    backends: {
      raw: RAW,
      trap: trapReflect("#DB enters the VMM, which reflects it to the guest"),
      vtx: native("no VM exit unless #DB is in the exception bitmap"),
      xen: wcall("delivers #DB through the virtual IDT"),
      l4: wcall("delivers #DB through the virtual IDT"),
    },
    opcodes: [{ opcode: 0xf1 }],
    icedCodes: ["Int1"],
    example: { att32: "int1", att64: "int1" },
  },

  // ----- fast system calls -----
  {
    id: "sysenter",
    mnemonics: ["sysenter"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 3,
    rewrite: callout("enters the guest kernel at its virtual SYSENTER_EIP/ESP MSRs with the virtual cs/ss"),
    meaning: "Fast system call into ring 0 (SYSENTER_CS/EIP/ESP MSRs).",
    why: "Enters ring 0 at the real MSR target, which belongs to the hypervisor; the guest's entry point is virtual.",
    backends: {
      raw: RAW,
      trap: trapReflect("lands at the VMM's SYSENTER target; the VMM reflects it to the guest's entry point"),
      vtx: native("no VM exit: the guest's own MSRs"),
      xen: wcall("enters the guest kernel's virtual sysenter entry point"),
      l4: wcall("enters the guest kernel's virtual sysenter entry point"),
    },
    opcodes: [{ opcode: 0x134 }],
    icedCodes: ["Sysenter"],
    example: { att32: "sysenter", att64: "sysenter" },
  },
  {
    id: "sysexit",
    mnemonics: ["sysexit", "sysexitl", "sysexitq"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 3,
    rewrite: callout("returns to user mode at EDX/ECX through the backend's user-return path"),
    meaning: "Fast return from a SYSENTER system call to ring 3.",
    why: `${WHY_PG}: sysexit faults (#GP) unless CPL = 0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM performs the return to user"),
      vtx: native("no VM exit"),
      xen: hcall("iret", "returns to user through HYPERVISOR_iret"),
      l4: ipc("returns to user by replying to the user thread's exception IPC"),
    },
    opcodes: [{ opcode: 0x135 }],
    icedCodes: ["Sysexitd", "Sysexitq"],
    example: { att32: "sysexit", att64: "sysexitq" },
  },
  {
    id: "syscall",
    mnemonics: ["syscall"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 3,
    rewrite: callout("enters the guest kernel at its virtual LSTAR/STAR target"),
    meaning: "Fast system call (STAR/LSTAR MSRs); 64-bit mode, or AMD legacy mode.",
    why: "Enters ring 0 at the real MSR target, which belongs to the hypervisor; the guest's entry point is virtual.",
    backends: {
      raw: RAW,
      trap: trapReflect("lands at the VMM's syscall target; the VMM reflects it to the guest's entry point"),
      vtx: native("no VM exit: the guest's own MSRs"),
      xen: wcall("enters the guest kernel's virtual syscall entry point"),
      l4: wcall("enters the guest kernel's virtual syscall entry point"),
    },
    opcodes: [{ opcode: 0x105 }],
    icedCodes: ["Syscall"],
    example: { att32: "syscall", att64: "syscall" },
  },
  {
    id: "sysret",
    mnemonics: ["sysret", "sysretl", "sysretq"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 3,
    rewrite: callout("returns to user mode at RCX with R11 as flags through the backend's user-return path"),
    meaning: "Fast return from a SYSCALL system call to ring 3.",
    why: `${WHY_PG}: sysret faults (#GP) unless CPL = 0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM performs the return to user"),
      vtx: native("no VM exit"),
      xen: hcall("iret", "returns to user through HYPERVISOR_iret"),
      l4: ipc("returns to user by replying to the user thread's exception IPC"),
    },
    opcodes: [{ opcode: 0x107 }],
    icedCodes: ["Sysretd", "Sysretq"],
    example: { att32: "sysret", att64: "sysretq" },
  },
  {
    id: "swapgs",
    mnemonics: ["swapgs"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["x86-64"],
    padding: 2,
    rewrite: callout(`exchanges the virtual GS base with the virtual KERNEL_GS_BASE, ${RESUME}`),
    meaning: "Exchanges GS.base with the KERNEL_GS_BASE MSR (64-bit kernel entry/exit).",
    why: `${WHY_PG}: swapgs faults (#GP) unless CPL = 0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM swaps the virtual GS bases"),
      vtx: native("no VM exit"),
      xen: wcall("swaps the virtual GS bases (a 64-bit PV guest uses the set_segment_base hypercall)"),
      l4: wcall("swaps the virtual GS bases"),
    },
    opcodes: [{ opcode: 0x101, reg: 7, rm: 0, mem: false }],
    icedCodes: ["Swapgs"],
    example: { att64: "swapgs" },
  },

  // ----- descriptor tables and task register -----
  {
    id: "lgdt",
    mnemonics: ["lgdt", "lgdtl", "lgdtw", "lgdtd", "lgdtq"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 9,
    rewrite: callout(`copies limit and base into the virtual gdtr (the table stays in guest memory), ${RESUME}`),
    meaning: "Loads the GDT register (limit and base) from memory.",
    why: `${WHY_PG}: lgdt faults at CPL>0; the real GDT belongs to the hypervisor.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM records the virtual GDTR and builds its shadow GDT"),
      vtx: native("no VM exit (descriptor-table exiting off)"),
      xen: hcall("set_gdt", "set_gdt(frame_list, entries) after validating the descriptors"),
      l4: wcall("records the virtual GDTR"),
    },
    opcodes: [{ opcode: 0x101, reg: 2, mem: true }],
    icedCodes: ["Lgdt_m1632_16", "Lgdt_m1632", "Lgdt_m1664"],
    example: { att32: "lgdt (%eax)", att64: "lgdt (%rax)" },
    originalPadding: 9,
  },
  {
    id: "lidt",
    mnemonics: ["lidt", "lidtl", "lidtw", "lidtd", "lidtq"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 9,
    rewrite: callout(`copies limit and base into the virtual idtr, ${RESUME}`),
    meaning: "Loads the IDT register (limit and base) from memory.",
    why: `${WHY_PG}: lidt faults at CPL>0; the real IDT belongs to the hypervisor.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM records the virtual IDTR"),
      vtx: native("no VM exit (descriptor-table exiting off)"),
      xen: hcall("set_trap_table", "set_trap_table(trap_info[]) built from the guest's IDT gates"),
      l4: wcall("records the virtual IDTR"),
    },
    opcodes: [{ opcode: 0x101, reg: 3, mem: true }],
    icedCodes: ["Lidt_m1632_16", "Lidt_m1632", "Lidt_m1664"],
    example: { att32: "lidt (%eax)", att64: "lidt (%rax)" },
    originalPadding: 9,
  },
  {
    id: "sgdt",
    mnemonics: ["sgdt", "sgdtl", "sgdtw", "sgdtd", "sgdtq"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout(`stores the virtual gdtr image to the operand, ${RESUME}`),
    meaning: "Stores the GDT register (limit and base) to memory.",
    why: `${WHY_RI}: it runs at any CPL (without UMIP) and reveals the hypervisor's GDT location.`,
    backends: {
      raw: RAW,
      trap: hole("stores the real GDTR: the guest sees the VMM's GDT"),
      vtx: native("no VM exit (descriptor-table exiting off): the guest's own GDTR"),
      xen: wcall("stores the virtual GDTR"),
      l4: wcall("stores the virtual GDTR"),
    },
    opcodes: [{ opcode: 0x101, reg: 0, mem: true }],
    icedCodes: ["Sgdt_m1632_16", "Sgdt_m1632", "Sgdt_m1664"],
    example: { att32: "sgdt (%eax)", att64: "sgdt (%rax)" },
    originalPadding: 8,
  },
  {
    id: "sidt",
    mnemonics: ["sidt", "sidtl", "sidtw", "sidtd", "sidtq"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout(`stores the virtual idtr image to the operand, ${RESUME}`),
    meaning: "Stores the IDT register (limit and base) to memory.",
    why: `${WHY_RI}: it runs at any CPL (without UMIP) and reveals the hypervisor's IDT location (the "red pill").`,
    backends: {
      raw: RAW,
      trap: hole("stores the real IDTR: the guest sees the VMM's IDT"),
      vtx: native("no VM exit (descriptor-table exiting off): the guest's own IDTR"),
      xen: wcall("stores the virtual IDTR"),
      l4: wcall("stores the virtual IDTR"),
    },
    opcodes: [{ opcode: 0x101, reg: 1, mem: true }],
    icedCodes: ["Sidt_m1632_16", "Sidt_m1632", "Sidt_m1664"],
    example: { att32: "sidt (%eax)", att64: "sidt (%rax)" },
    originalPadding: 8,
  },
  {
    id: "lldt",
    mnemonics: ["lldt", "lldtw", "lldtl", "lldtd"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 16,
    rewrite: callout(`sets the virtual ldtr to the selector, ${RESUME}`),
    meaning: "Loads the LDT register from a GDT selector.",
    why: `${WHY_PG}: lldt faults at CPL>0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM records the virtual LDTR and shadows the LDT"),
      vtx: native("no VM exit (descriptor-table exiting off)"),
      xen: hcall("mmuext_op", "mmuext_op(MMUEXT_SET_LDT, linear address, entries)"),
      l4: wcall("records the virtual LDTR"),
    },
    opcodes: [{ opcode: 0x100, reg: 2 }],
    icedCodes: ["Lldt_rm16", "Lldt_r32m16", "Lldt_r64m16"],
    example: { att32: "lldt %ax", att64: "lldt %ax" },
    originalPadding: 16,
  },
  {
    id: "sldt",
    mnemonics: ["sldt", "sldtw", "sldtl", "sldtd", "sldtq"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 6,
    rewrite: callout(`stores the virtual ldtr selector to the operand, ${RESUME}`),
    meaning: "Stores the LDT selector.",
    why: `${WHY_RI}: it runs at any CPL and reveals the real LDTR.`,
    backends: {
      raw: RAW,
      trap: hole("stores the real LDTR selector"),
      vtx: native("no VM exit (descriptor-table exiting off)"),
      xen: wcall("stores the virtual LDTR selector"),
      l4: wcall("stores the virtual LDTR selector"),
    },
    opcodes: [{ opcode: 0x100, reg: 0 }],
    icedCodes: ["Sldt_rm16", "Sldt_r32m16", "Sldt_r64m16"],
    example: { att32: "sldt %eax", att64: "sldt %eax" },
    originalPadding: 6,
  },
  {
    id: "ltr",
    mnemonics: ["ltr", "ltrw", "ltrl", "ltrd"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 16,
    rewrite: callout(`sets the virtual tr and reads esp0 from the guest TSS, ${RESUME}`),
    meaning: "Loads the task register from a GDT selector (the TSS with the ring-0 stack).",
    why: `${WHY_PG}: ltr faults at CPL>0; the real TSS belongs to the hypervisor.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM records the virtual TR and tracks esp0"),
      vtx: native("no VM exit (descriptor-table exiting off)"),
      xen: hcall("stack_switch", "records the virtual TR; esp0 goes to Xen with stack_switch(ss, esp)"),
      l4: wcall("records the virtual TR; frames for user traps are built on the TSS esp0"),
    },
    opcodes: [{ opcode: 0x100, reg: 3 }],
    icedCodes: ["Ltr_rm16", "Ltr_r32m16", "Ltr_r64m16"],
    example: { att32: "ltr %ax", att64: "ltr %ax" },
    originalPadding: 16,
  },
  {
    id: "str",
    mnemonics: ["str", "strw", "strl", "strd", "strq"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 9,
    rewrite: callout(`stores the virtual tr selector to the operand, ${RESUME}`),
    meaning: "Stores the task register selector.",
    why: `${WHY_RI}: it runs at any CPL and reveals the real TR.`,
    backends: {
      raw: RAW,
      trap: hole("stores the real TR selector"),
      vtx: native("no VM exit (descriptor-table exiting off)"),
      xen: wcall("stores the virtual TR selector"),
      l4: wcall("stores the virtual TR selector"),
    },
    opcodes: [{ opcode: 0x100, reg: 1 }],
    icedCodes: ["Str_rm16", "Str_r32m16", "Str_r64m16"],
    example: { att32: "str %eax", att64: "str %eax" },
    originalPadding: 9,
  },
  {
    id: "smsw",
    mnemonics: ["smsw", "smsww", "smswl", "smswd", "smswq"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout(`stores the low bits of the virtual cr0 to the operand, ${RESUME}`),
    meaning: "Stores the machine status word (low 16 bits of cr0).",
    why: `${WHY_RI}: it runs at any CPL and reveals the real cr0 (PE, MP, EM, TS).`,
    backends: {
      raw: RAW,
      trap: hole("stores the real cr0 bits (e.g. the host's TS)"),
      vtx: native("no VM exit: masked cr0 bits read from the read shadow"),
      xen: wcall("stores the virtual cr0 bits"),
      l4: wcall("stores the virtual cr0 bits"),
    },
    opcodes: [{ opcode: 0x101, reg: 4 }],
    icedCodes: ["Smsw_rm16", "Smsw_r32m16", "Smsw_r64m16"],
    example: { att32: "smsw %eax", att64: "smsw %eax" },
    originalPadding: 8,
  },
  {
    id: "lmsw",
    mnemonics: ["lmsw", "lmsww"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout(`updates PE/MP/EM/TS of the virtual cr0 (PE can be set, never cleared), ${RESUME}`),
    meaning: "Loads the machine status word (PE, MP, EM, TS of cr0).",
    why: `${WHY_PG}: lmsw faults at CPL>0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM updates the virtual cr0"),
      vtx: exit("exits when it changes a bit set in the cr0 guest/host mask", "vtx.exit.cr-access"),
      xen: wcall("updates the virtual cr0; a TS change issues fpu_taskswitch"),
      l4: wcall("updates the virtual cr0"),
    },
    opcodes: [{ opcode: 0x101, reg: 6 }],
    icedCodes: ["Lmsw_rm16", "Lmsw_r32m16", "Lmsw_r64m16"],
    example: { att32: "lmsw %ax", att64: "lmsw %ax" },
    originalPadding: 8,
  },
  {
    id: "clts",
    mnemonics: ["clts"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 14,
    rewrite: callout(`clears TS in the virtual cr0 (and the backend's FPU state), ${RESUME}`),
    meaning: "Clears the task-switched flag cr0.TS (lazy FPU switching).",
    why: `${WHY_PG}: clts faults at CPL>0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM clears the virtual TS"),
      vtx: exit("exits when TS is set in the cr0 guest/host mask (lazy FPU in the VMM)", "vtx.exit.cr-access"),
      xen: hcall("fpu_taskswitch", "fpu_taskswitch(0)"),
      l4: wcall("clears the virtual TS (the FPU is the L4 thread's own)"),
    },
    opcodes: [{ opcode: 0x106 }],
    icedCodes: ["Clts"],
    example: { att32: "clts", att64: "clts" },
    originalPadding: 14,
  },

  // ----- control and debug registers -----
  movFromCr(0),
  movFromCr(2),
  movFromCr(3),
  movFromCr(4),
  movFromCr(8),
  movToCr(0),
  movToCr(2),
  movToCr(3),
  movToCr(4),
  movToCr(8),
  {
    id: "mov-from-dr",
    mnemonics: ["mov", "movl", "movq"],
    condition: { kind: "register", registers: DREGS, position: "src" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 12,
    rewrite: callout(`loads the virtual drN into the destination register, ${RESUME}`),
    meaning: "Copies a debug register (dr0–dr7; GNU as spells them %db0–%db7 too) into a general register.",
    why: `${WHY_PG}: mov from %drN faults at CPL>0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM returns the virtual drN"),
      vtx: exit("MOV-DR exiting (VMMs switch debug registers lazily)", "vtx.exit.dr-access"),
      xen: wcall("reads the virtual drN"),
      l4: wcall("reads the virtual drN"),
    },
    opcodes: [{ opcode: 0x121 }],
    icedCodes: ["Mov_r32_dr", "Mov_r64_dr"],
    example: { att32: "mov %db7,%eax", att64: "mov %dr7,%rax" },
    originalPadding: 12,
  },
  {
    id: "mov-to-dr",
    mnemonics: ["mov", "movl", "movq"],
    condition: { kind: "register", registers: DREGS, position: "dst" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 12,
    rewrite: callout(`stores the source into the virtual drN (and arms the backend's breakpoint), ${RESUME}`),
    meaning: "Writes a debug register (breakpoint addresses dr0–dr3, control dr7, status dr6).",
    why: `${WHY_PG}: mov to %drN faults at CPL>0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM updates the virtual drN"),
      vtx: exit("MOV-DR exiting", "vtx.exit.dr-access"),
      xen: hcall("set_debugreg", "set_debugreg(reg, value)"),
      l4: wcall("updates the virtual drN"),
    },
    opcodes: [{ opcode: 0x123 }],
    icedCodes: ["Mov_dr_r32", "Mov_dr_r64"],
    example: { att32: "mov %eax,%db7", att64: "mov %rax,%dr7" },
    originalPadding: 12,
  },

  // ----- segment registers -----
  {
    id: "mov-from-sreg",
    mnemonics: ["mov", "movw", "movl", "movq"],
    condition: { kind: "register", registers: SREGS, position: "src" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 12,
    rewrite: {
      kind: "inline",
      description:
        "register destination: load the virtual selector, movl @vcpu.<sreg>,%reg (8B /r disp32, 6; A1 moffs32 = 5 for " +
        "%eax) or movw @vcpu.<sreg>,%reg16 (66 8B /r disp32, 7); memory destination: the 5-byte call-out stores the " +
        "virtual selector. 64-bit: SIB absolute forms, up to 9 bytes with REX (movw @vcpu.ds,%r9w).",
      room: 7,
      room64: 9,
      asm32: ["movw @vcpu.ds, %cx"],
      asm64: ["movw @vcpu.ds, %r9w"],
    },
    meaning: "Copies a segment selector (cs, ss, ds, es, fs, gs) to a register or memory.",
    why: `${WHY_RI}: reading %cs or %ss reveals the real privilege level in the RPL bits.`,
    backends: {
      raw: RAW,
      trap: hole("reading %cs/%ss shows RPL 1, revealing the deprivileging"),
      vtx: native("no VM exit: the guest's own selectors"),
      xen: inline("loads the virtual selector (native with hardware segments)"),
      l4: inline("loads the virtual selector"),
    },
    opcodes: [{ opcode: 0x8c }],
    icedCodes: ["Mov_rm16_Sreg", "Mov_r32m16_Sreg", "Mov_r64m16_Sreg"],
    example: { att32: "mov %ds,%eax", att64: "mov %ds,%eax" },
    originalPadding: 12,
  },
  {
    id: "mov-to-sreg",
    mnemonics: ["mov", "movw", "movl", "movq"],
    condition: { kind: "register", registers: SREGS, position: "dst" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 12,
    rewrite: {
      kind: "inline",
      description:
        "register source: store the virtual selector, movw %reg16,@vcpu.<sreg> (66 89 /r disp32, 7); memory source: " +
        "the 5-byte call-out loads it (and checks the descriptor against the virtual GDT/LDT). 64-bit: SIB absolute " +
        "form, up to 9 bytes with REX (movw %r9w,@vcpu.ds).",
      room: 7,
      room64: 9,
      asm32: ["movw %cx, @vcpu.ds"],
      asm64: ["movw %r9w, @vcpu.ds"],
    },
    meaning: "Loads a segment register (ds, es, fs, gs, ss) from a register or memory.",
    why: `${WHY_RI}: the descriptor's DPL is checked against the real CPL, so a guest kernel's ring-0 selectors fault or load with the wrong privilege.`,
    backends: {
      raw: RAW,
      trap: trapGp("a DPL 0 selector at CPL 1 faults (#GP) → VMM loads a shadow descriptor"),
      vtx: native("no VM exit: the guest's own segment registers"),
      xen: inline("stores the virtual selector (native with hardware segments and ring-1 selectors)"),
      l4: inline("stores the virtual selector"),
    },
    opcodes: [{ opcode: 0x8e }],
    icedCodes: ["Mov_Sreg_rm16", "Mov_Sreg_r32m16", "Mov_Sreg_r64m16"],
    example: { att32: "mov %eax,%ds", att64: "mov %eax,%ds" },
    originalPadding: 12,
  },
  {
    id: "push-sreg",
    mnemonics: ["push", "pushl", "pushw", "pushq", "pushd"],
    condition: { kind: "register", registers: SREGS, position: "either" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 6,
    padding64: 6,
    rewrite: {
      kind: "inline",
      description:
        "push the virtual selector: pushl @vcpu.<sreg> (FF 35 disp32, 6); pushw %sreg → pushw @vcpu.<sreg> (66 FF 35 " +
        "disp32, 7). 64-bit: pushq @vcpu.<sreg> (FF 34 25 disp32, 7), pushw 8.",
      room: 7,
      room64: 8,
      asm32: ["pushw @vcpu.ds"],
      asm64: ["pushw @vcpu.fs"],
    },
    meaning: "Pushes a segment selector onto the stack.",
    why: `${WHY_RI}: push %cs/%ss reveals the real privilege level in the RPL bits.`,
    backends: {
      raw: RAW,
      trap: hole("push %cs/%ss pushes RPL 1, revealing the deprivileging"),
      vtx: native("no VM exit"),
      xen: inline("pushes the virtual selector"),
      l4: inline("pushes the virtual selector"),
    },
    opcodes: [{ opcode: 0x06 }, { opcode: 0x0e }, { opcode: 0x16 }, { opcode: 0x1e }, { opcode: 0x1a0 }, { opcode: 0x1a8 }],
    icedCodes: [
      "Pushw_ES", "Pushd_ES", "Pushw_CS", "Pushd_CS", "Pushw_SS", "Pushd_SS", "Pushw_DS", "Pushd_DS",
      "Pushw_FS", "Pushd_FS", "Pushq_FS", "Pushw_GS", "Pushd_GS", "Pushq_GS",
    ],
    example: { att32: "pushl %ds", att64: "pushq %fs" },
    originalPadding: 5,
  },
  {
    id: "pop-sreg",
    mnemonics: ["pop", "popl", "popw", "popq", "popd"],
    condition: { kind: "register", registers: SREGS, position: "either" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 6,
    padding64: 6,
    rewrite: {
      kind: "inline",
      description:
        "pop into the virtual selector: popl @vcpu.<sreg> (8F 05 disp32, 6); popw %sreg → popw @vcpu.<sreg> (66 8F 05 " +
        "disp32, 7). 64-bit: popq @vcpu.<sreg> (8F 04 25 disp32, 7), popw 8.",
      room: 7,
      room64: 8,
      asm32: ["popw @vcpu.ds"],
      asm64: ["popw @vcpu.fs"],
    },
    meaning: "Pops a segment selector from the stack into a segment register.",
    why: `${WHY_RI}: the descriptor's DPL is checked against the real CPL.`,
    backends: {
      raw: RAW,
      trap: trapGp("a DPL 0 selector at CPL 1 faults (#GP) → VMM loads a shadow descriptor"),
      vtx: native("no VM exit"),
      xen: inline("pops into the virtual selector"),
      l4: inline("pops into the virtual selector"),
    },
    opcodes: [{ opcode: 0x07 }, { opcode: 0x17 }, { opcode: 0x1f }, { opcode: 0x1a1 }, { opcode: 0x1a9 }],
    icedCodes: ["Popw_ES", "Popd_ES", "Popw_SS", "Popd_SS", "Popw_DS", "Popd_DS", "Popw_FS", "Popd_FS", "Popq_FS", "Popw_GS", "Popd_GS", "Popq_GS"],
    example: { att32: "popl %ds", att64: "popq %gs" },
    originalPadding: 5,
  },
  ...(["lds", "les", "lfs", "lgs", "lss"] as const).map((m): CatalogueEntry => {
    const seg = m.slice(1, 3);
    const legacy = m === "lds" || m === "les";
    const op = { lds: 0xc5, les: 0xc4, lfs: 0x1b4, lgs: 0x1b5, lss: 0x1b2 }[m];
    const cap = m[0]!.toUpperCase() + m.slice(1);
    return {
      id: m,
      mnemonics: [m, `${m}w`, `${m}l`, ...(legacy ? [] : [`${m}q`])],
      condition: { kind: "any" },
      class: "sensitive",
      modes: legacy ? ["ia32"] : ["ia32", "x86-64"],
      padding: 16,
      rewrite: callout(`loads the offset into the register and the selector into the virtual ${seg}, ${RESUME}`),
      meaning: `Loads a far pointer from memory: offset into a register, selector into ${seg}.` + (legacy ? " Invalid in 64-bit mode (the opcode is VEX there)." : ""),
      why: `${WHY_RI} (segment load: the descriptor's DPL is checked against the real CPL).`,
      backends: {
        raw: RAW,
        trap: trapGp("a DPL 0 selector at CPL 1 faults (#GP) → VMM loads a shadow descriptor"),
        vtx: native("no VM exit"),
        xen: wcall(`loads the virtual ${seg}`),
        l4: wcall(`loads the virtual ${seg}`),
      },
      opcodes: [legacy ? { opcode: op, mem: true } : { opcode: op }],
      icedCodes: legacy ? [`${cap}_r16_m1616`, `${cap}_r32_m1632`] : [`${cap}_r16_m1616`, `${cap}_r32_m1632`, `${cap}_r64_m1664`],
      example: legacy ? { att32: `${m} (%eax),%ebx` } : { att32: `${m} (%eax),%ebx`, att64: `${m} (%rax),%ebx` },
      originalPadding: 16,
    };
  }),
  ...(["lar", "lsl"] as const).map((m): CatalogueEntry => ({
    id: m,
    mnemonics: [m, `${m}w`, `${m}l`, `${m}q`],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout(`evaluates the selector against the virtual GDT/LDT with the virtual CPL and sets ZF and the destination, ${RESUME}`),
    meaning: m === "lar" ? "Loads the access-rights bytes of a descriptor (ZF=1 when visible at the CPL)." : "Loads the segment limit of a descriptor (ZF=1 when visible at the CPL).",
    why: `${WHY_RI}: the visibility check uses the real CPL and RPL, so the guest kernel gets answers for ring 1.`,
    backends: {
      raw: RAW,
      trap: hole("checks against CPL 1: DPL 0 descriptors are reported invisible (ZF=0)"),
      vtx: native("no VM exit"),
      xen: wcall("evaluates against the virtual descriptor tables"),
      l4: wcall("evaluates against the virtual descriptor tables"),
    },
    opcodes: [{ opcode: m === "lar" ? 0x102 : 0x103 }],
    icedCodes: m === "lar" ? ["Lar_r16_rm16", "Lar_r32_r32m16", "Lar_r64_r64m16"] : ["Lsl_r16_rm16", "Lsl_r32_r32m16", "Lsl_r64_r64m16"],
    example: { att32: `${m} %eax,%ebx`, att64: `${m} %eax,%ebx` },
    originalPadding: 8,
  })),
  ...(["verr", "verw"] as const).map((m): CatalogueEntry => ({
    id: m,
    mnemonics: [m, `${m}w`],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32", "x86-64"],
    padding: 2,
    rewrite: callout(`checks ${m === "verr" ? "readability" : "writability"} against the virtual GDT/LDT at the virtual CPL and sets ZF, ${RESUME}`),
    meaning: m === "verr" ? "Sets ZF if the segment is readable at the current privilege level." : "Sets ZF if the segment is writable at the current privilege level.",
    why: `${WHY_RI}: the check uses the real CPL.`,
    backends: {
      raw: RAW,
      trap: hole("checks against CPL 1: DPL 0 segments are reported inaccessible"),
      vtx: native("no VM exit"),
      xen: wcall("evaluates against the virtual descriptor tables"),
      l4: wcall("evaluates against the virtual descriptor tables"),
    },
    opcodes: [{ opcode: 0x100, reg: m === "verr" ? 4 : 5 }],
    icedCodes: m === "verr" ? ["Verr_rm16", "Verr_r32m16", "Verr_r64m16"] : ["Verw_rm16", "Verw_r32m16", "Verw_r64m16"],
    example: { att32: `${m} %ax`, att64: `${m} %ax` },
  })),
  {
    id: "arpl",
    mnemonics: ["arpl", "arplw"],
    condition: { kind: "any" },
    class: "sensitive",
    modes: ["ia32"],
    padding: 8,
    rewrite: callout(`adjusts the RPL field as the guest expects (against virtual selectors) and sets ZF, ${RESUME}`),
    meaning: "Raises a selector's RPL to at least another's (ZF=1 if changed). In 64-bit mode 63 /r is movsxd.",
    why: "Listed with the protection-system references (Robin & Irvine); it operates on RPLs that differ under ring deprivileging.",
    backends: {
      raw: RAW,
      trap: hole("compares with real RPLs (1 instead of 0)"),
      vtx: native("no VM exit"),
      xen: wcall("adjusts against the virtual selectors"),
      l4: wcall("adjusts against the virtual selectors"),
    },
    opcodes: [{ opcode: 0x63 }],
    icedCodes: ["Arpl_rm16_r16", "Arpl_r32m16_r32"],
    example: { att32: "arpl %ax,%bx" },
    originalPadding: 8,
  },

  // ----- port I/O -----
  ...(
    [
      ["in-imm", "in", "imm", 0xe4, ["In_AL_imm8", "In_AX_imm8", "In_EAX_imm8"], "in $0x60,%al", 13, 14, 2],
      ["in-dx", "in", "dx", 0xec, ["In_AL_DX", "In_AX_DX", "In_EAX_DX"], "in (%dx),%al", 13, 14, 1],
      ["out-imm", "out", "imm", 0xe6, ["Out_imm8_AL", "Out_imm8_AX", "Out_imm8_EAX"], "out %al,$0x80", 16, 16, 2],
      ["out-dx", "out", "dx", 0xee, ["Out_DX_AL", "Out_DX_AX", "Out_DX_EAX"], "out %al,(%dx)", 16, 16, 1],
    ] as const
  ).map(([id, dir, form, op, codes, ex, pad, pad64]): CatalogueEntry => ({
    id,
    mnemonics: [dir, `${dir}b`, `${dir}w`, `${dir}l`],
    condition: { kind: "port", form },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: pad,
    ...(pad64 !== pad ? { padding64: pad64 } : {}),
    rewrite: callout(
      `${dir === "in" ? "reads" : "writes"} the port (${form === "imm" ? "imm8" : "%dx"}; width from the opcode and 66 prefix) through the virtual device models, ${RESUME}`,
    ),
    meaning: `${dir === "in" ? "Reads" : "Writes"} an I/O port (${form === "imm" ? "port number in the instruction" : "port number in %dx"}).`,
    why: `IOPL-sensitive: faults when CPL > IOPL and the I/O bitmap denies the port (${WHY_PG}); the devices are virtual.`,
    backends: {
      raw: RAW,
      trap: trapIo("#GP (CPL > IOPL) → VMM emulates the device access"),
      vtx: exit("I/O exiting (unconditional or per-port I/O bitmap)", "vtx.exit.io"),
      xen: wcall("virtual device model (console writes end in console_io; dom0 passthrough with IOPL 1)"),
      l4: wcall("virtual device model, or passthrough from the wedge"),
    },
    opcodes: [{ opcode: op }, { opcode: op + 1 }],
    icedCodes: codes,
    example: { att32: ex, att64: ex },
    originalPadding: pad,
  })),
  ...(
    [
      ["ins", 0x6c, ["Insb_m8_DX", "Insw_m16_DX", "Insd_m32_DX"], 13, 14, "reads the port in %dx into %es:(%edi) (ECX times with rep), advancing EDI by DF"],
      ["outs", 0x6e, ["Outsb_DX_m8", "Outsw_DX_m16", "Outsd_DX_m32"], 16, 16, "writes %ds:(%esi) to the port in %dx (ECX times with rep), advancing ESI by DF"],
    ] as const
  ).map(([m, op, codes, pad, pad64, what]): CatalogueEntry => ({
    id: m,
    mnemonics: [m, `${m}b`, `${m}w`, `${m}l`, `${m}d`],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: pad,
    ...(pad64 !== pad ? { padding64: pad64 } : {}),
    rewrite: callout(`${what} through the virtual device models, ${RESUME}`),
    meaning: m === "ins" ? "String input from the port in %dx to memory (rep repeats it)." : "String output from memory to the port in %dx (rep repeats it).",
    why: `IOPL-sensitive: faults when CPL > IOPL and the I/O bitmap denies the port (${WHY_PG}); the devices are virtual.`,
    backends: {
      raw: RAW,
      trap: trapIo("#GP (CPL > IOPL) → VMM emulates the whole string operation"),
      vtx: exit("I/O exiting (unconditional or per-port I/O bitmap)", "vtx.exit.io"),
      xen: wcall("virtual device model, one call for the whole rep string"),
      l4: wcall("virtual device model, one call for the whole rep string"),
    },
    opcodes: [{ opcode: op }, { opcode: op + 1 }],
    icedCodes: codes,
    example: { att32: `rep ${m}b`, att64: `rep ${m}b` },
    originalPadding: pad,
  })),

  // ----- processor control -----
  {
    id: "hlt",
    mnemonics: ["hlt"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 6,
    rewrite: callout(`delivers a pending interrupt if the virtual IF is set, otherwise idles the vCPU until one arrives, ${RESUME}`),
    meaning: "Halts the processor until the next interrupt.",
    why: `${WHY_PG}: hlt faults at CPL>0; a guest must yield its virtual CPU, not stop the real one.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM idles the virtual CPU"),
      vtx: exit("HLT exiting", "vtx.exit.hlt"),
      xen: hcall("sched_op", "sched_op(SCHEDOP_block) (kaxen: set_timer_op + block)"),
      l4: ipc("L4_Wait for the next IRQ or virtual-IRQ IPC"),
    },
    opcodes: [{ opcode: 0xf4 }],
    icedCodes: ["Hlt"],
    example: { att32: "hlt", att64: "hlt" },
    originalPadding: 6,
  },
  {
    id: "invlpg",
    mnemonics: ["invlpg"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 6,
    rewrite: callout(`invalidates the page's translation in the backend (the operand's effective address), ${RESUME}`),
    meaning: "Invalidates the TLB entry for the page containing the operand's address.",
    why: `${WHY_PG}: invlpg faults at CPL>0; the real TLB maps the hypervisor's view.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM invalidates its shadow page-table entry"),
      vtx: exit("INVLPG exiting (shadow paging without EPT)", "vtx.exit.invlpg"),
      xen: hcall("mmuext_op", "mmuext_op(MMUEXT_INVLPG_LOCAL, va)"),
      l4: ipc("unmaps the page (L4_Unmap / L4_Flush)", "l4.unmap"),
    },
    opcodes: [{ opcode: 0x101, reg: 7, mem: true }],
    icedCodes: ["Invlpg_m"],
    example: { att32: "invlpg (%eax)", att64: "invlpg (%rax)" },
    originalPadding: 6,
  },
  ...(["invd", "wbinvd"] as const).map((m): CatalogueEntry => ({
    id: m,
    mnemonics: [m],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout(`flushes the backend's view of guest memory (no-op on xen, user-space flush on l4), ${RESUME}`),
    meaning: m === "invd" ? "Invalidates the caches without writing them back." : "Writes back and invalidates the caches.",
    why: `${WHY_PG}: ${m} faults at CPL>0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM ignores or flushes"),
      vtx: exit(m === "invd" ? "unconditional VM exit" : "WBINVD exiting", "vtx.exit.cache"),
      xen: wcall("no-op (the hypervisor owns the caches)"),
      l4: ipc("flushes the guest's user address space (backend_flush_user)", "l4.unmap"),
    },
    opcodes: [{ opcode: m === "invd" ? 0x108 : 0x109 }],
    icedCodes: [m === "invd" ? "Invd" : "Wbinvd"],
    example: { att32: m, att64: m },
    originalPadding: 8,
  })),
  {
    id: "cpuid",
    mnemonics: ["cpuid"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout(`returns the virtual CPU's identification (host values with the backend's overrides), ${RESUME}`),
    meaning: "Returns processor identification and feature flags for leaf EAX (subleaf ECX).",
    why: "Not privileged, but it reports the real processor: a virtual platform must control which features the guest sees.",
    backends: {
      raw: RAW,
      trap: native("runs natively: reports the real processor's features"),
      vtx: exit("unconditional VM exit", "vtx.exit.cpuid"),
      xen: wcall("real cpuid + the backend's feature overrides"),
      l4: wcall("real cpuid + the backend's feature overrides"),
    },
    opcodes: [{ opcode: 0x1a2 }],
    icedCodes: ["Cpuid"],
    example: { att32: "cpuid", att64: "cpuid" },
    originalPadding: 8,
  },
  ...(["rdmsr", "wrmsr"] as const).map((m): CatalogueEntry => ({
    id: m,
    mnemonics: [m],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout(
      m === "rdmsr"
        ? `returns the virtual MSR ECX in EDX:EAX (0 for unknown MSRs, as the original wedge did), ${RESUME}`
        : `stores EDX:EAX into the virtual MSR ECX (performance-counter MSRs forwarded where the backend allows), ${RESUME}`,
    ),
    meaning: m === "rdmsr" ? "Reads model-specific register ECX into EDX:EAX." : "Writes EDX:EAX to model-specific register ECX.",
    why: `${WHY_PG}: ${m} faults at CPL>0.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM emulates the MSR"),
      vtx: exit("exits unless the MSR bitmap passes this MSR through", "vtx.exit.msr"),
      xen: wcall(m === "rdmsr" ? "virtual MSR value" : "virtual MSR; P4 performance MSRs via dom0_op(DOM0_MSR)"),
      l4: wcall("virtual MSR value"),
    },
    opcodes: [{ opcode: m === "rdmsr" ? 0x132 : 0x130 }],
    icedCodes: [m === "rdmsr" ? "Rdmsr" : "Wrmsr"],
    example: { att32: m, att64: m },
    originalPadding: 8,
  })),
  {
    id: "rdtsc",
    mnemonics: ["rdtsc"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 3,
    rewrite: callout(`returns the virtual time-stamp counter in EDX:EAX, ${RESUME}`),
    meaning: "Reads the time-stamp counter into EDX:EAX.",
    why: "Unprivileged unless CR4.TSD is set, but it reveals real time: a virtual platform may need to offset or scale it.",
    backends: {
      raw: RAW,
      trap: native("runs natively with the VMM's TSC offset (CR4.TSD clear)"),
      vtx: native("no VM exit: TSC offsetting (RDTSC exiting off)"),
      xen: native("left native: Xen PV guests read the TSC and scale it with vcpu_time_info"),
      l4: native("left native: the L4 thread reads the real TSC"),
    },
    opcodes: [{ opcode: 0x131 }],
    icedCodes: ["Rdtsc"],
    example: { att32: "rdtsc", att64: "rdtsc" },
  },
  {
    id: "rdtscp",
    mnemonics: ["rdtscp"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 2,
    rewrite: callout(`returns the virtual time-stamp counter in EDX:EAX and the virtual TSC_AUX in ECX, ${RESUME}`),
    meaning: "Reads the time-stamp counter and TSC_AUX (processor id).",
    why: "Unprivileged unless CR4.TSD is set, but it reveals real time and the real processor number.",
    backends: {
      raw: RAW,
      trap: native("runs natively with the VMM's TSC offset"),
      vtx: native("no VM exit: TSC offsetting (RDTSC exiting off)"),
      xen: native("left native"),
      l4: native("left native"),
    },
    opcodes: [{ opcode: 0x101, reg: 7, rm: 1, mem: false }],
    icedCodes: ["Rdtscp"],
    example: { att32: "rdtscp", att64: "rdtscp" },
  },
  {
    id: "rdpmc",
    mnemonics: ["rdpmc"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 3,
    rewrite: callout(`returns the virtual performance counter ECX in EDX:EAX, ${RESUME}`),
    meaning: "Reads performance-monitoring counter ECX into EDX:EAX.",
    why: "Faults at CPL>0 unless CR4.PCE is set; the counters measure the host, not the guest.",
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 (CR4.PCE clear) → VMM returns a virtual counter"),
      vtx: native("no VM exit (RDPMC exiting off)"),
      xen: wcall("virtual counter"),
      l4: wcall("virtual counter"),
    },
    opcodes: [{ opcode: 0x133 }],
    icedCodes: ["Rdpmc"],
    example: { att32: "rdpmc", att64: "rdpmc" },
  },
  {
    id: "rsm",
    mnemonics: ["rsm"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout("raises #UD in the guest through its virtual IDT (a guest is never in SMM)"),
    meaning: "Resumes from system-management mode (#UD outside SMM).",
    why: "Outside SMM it raises #UD, which enters the hypervisor-owned IDT; it must reach the guest's virtual IDT.",
    backends: {
      raw: RAW,
      trap: trapReflect("#UD enters the VMM, which reflects it to the guest"),
      vtx: native("#UD delivered to the guest (no VM exit unless #UD is in the exception bitmap)"),
      xen: wcall("raises #UD through the virtual IDT"),
      l4: wcall("raises #UD through the virtual IDT"),
    },
    opcodes: [{ opcode: 0x1aa }],
    icedCodes: ["Rsm"],
    example: { att32: "rsm", att64: "rsm" },
    originalPadding: 8,
  },
  {
    id: "ud2",
    mnemonics: ["ud2", "ud2a"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 8,
    rewrite: callout("raises #UD (EIP = site start, as Linux's BUG() table expects) through the guest's virtual IDT"),
    meaning: "Raises the invalid-opcode exception on purpose (Linux BUG()).",
    why: "#UD enters the hypervisor-owned IDT; the guest's handler must see it at the right address.",
    backends: {
      raw: RAW,
      trap: trapReflect("#UD enters the VMM, which reflects it to the guest"),
      vtx: native("#UD delivered to the guest (no VM exit unless #UD is in the exception bitmap)"),
      xen: wcall("raises #UD through the virtual IDT"),
      l4: wcall("raises #UD through the virtual IDT"),
    },
    opcodes: [{ opcode: 0x10b }],
    icedCodes: ["Ud2"],
    example: { att32: "ud2", att64: "ud2" },
    originalPadding: 8,
  },

  // ----- extensions after the P6 baseline: each needs its CPUID feature (#UD without it, before any privilege
  // check or VM exit). The bundled IA-32 CPU offers none of them (machine/cpu/system.ts), so on it they raise #UD;
  // the padding lets the wedge rewrite them for a CPU that has them. Left out on purpose: the VMX/SVM host
  // instructions (vmcall, vmmcall, invlpga ...: a guest kernel being pre-virtualized is no hypervisor) and the
  // SGX/SEAM enclave interfaces (encls, enclu ...) — test/core/isa/sweep.test.ts lists them. -----
  {
    id: "wbnoinvd",
    mnemonics: ["wbnoinvd"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 3,
    rewrite: callout(`writes back the backend's view of guest memory (a no-op on xen and l4: nothing is invalidated), ${RESUME}`),
    meaning: "Writes back modified cache lines without invalidating the caches (F3 0F 09).",
    why: `${WHY_PG}: wbnoinvd faults (#GP) at CPL>0, as wbinvd does.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM ignores it or writes back"),
      vtx: exit("WBINVD exiting (reason 54 covers WBNOINVD)", "vtx.exit.cache"),
      xen: wcall("no-op (the hypervisor owns the caches)"),
      l4: wcall("no-op (nothing to invalidate in the guest's address space)"),
    },
    opcodes: [{ opcode: 0x109, prefix: 0xf3 }],
    icedCodes: ["Wbnoinvd"],
    example: { att32: "wbnoinvd", att64: "wbnoinvd" },
    feature: "WBNOINVD",
  },
  {
    id: "xsetbv",
    mnemonics: ["xsetbv"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 2,
    rewrite: callout(`checks EDX:EAX and stores it into the virtual XCR selected by ECX (XCR0: the enabled state components), ${RESUME}`),
    meaning: "Writes extended control register XCR[ECX] from EDX:EAX (XCR0 enables the x87/SSE/AVX... state components XSAVE manages).",
    why: `${WHY_PG}: xsetbv faults (#GP) at CPL>0; XCR0 is the hypervisor's, the guest may only set its virtual one.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM checks the value and sets the virtual XCR0"),
      vtx: exit("unconditional VM exit (reason 55) once CR4.OSXSAVE lets it past #UD", "vtx.exit.xsetbv"),
      xen: wcall("checks the value against the components Xen allows and sets the virtual XCR0 (Xen loads it per vCPU)"),
      l4: wcall("sets the virtual XCR0"),
    },
    opcodes: [{ opcode: 0x101, reg: 2, rm: 1, mem: false }],
    icedCodes: ["Xsetbv"],
    example: { att32: "xsetbv", att64: "xsetbv" },
    feature: "XSAVE",
  },
  {
    id: "xgetbv",
    mnemonics: ["xgetbv"],
    condition: { kind: "any" },
    class: "platform",
    modes: ["ia32", "x86-64"],
    padding: 2,
    rewrite: callout(`returns the virtual XCR[ECX] in EDX:EAX (#UD while the virtual CR4.OSXSAVE is clear), ${RESUME}`),
    meaning: "Reads extended control register XCR[ECX] into EDX:EAX (XCR0, or XINUSE with ECX = 1).",
    why:
      "Not privileged and no protection state is involved (so not sensitive in Robin & Irvine's sense), but it reports " +
      "the real XCR0 and is enabled by the real CR4.OSXSAVE, both the hypervisor's: as with cpuid and rdtsc, a virtual " +
      "platform must show the guest the XCR0 it set.",
    backends: {
      raw: RAW,
      trap: native("runs natively: reads the VMM's XCR0 unless the VMM switches it per guest"),
      vtx: native("no VM exit: the VMM loads the guest's XCR0 before VM entry"),
      xen: wcall("returns the virtual XCR0"),
      l4: wcall("returns the virtual XCR0"),
    },
    opcodes: [{ opcode: 0x101, reg: 2, rm: 0, mem: false }],
    icedCodes: ["Xgetbv"],
    example: { att32: "xgetbv", att64: "xgetbv" },
    feature: "XSAVE",
  },
  ...(["xsaves", "xrstors"] as const).map((m): CatalogueEntry => ({
    id: m,
    mnemonics: [m, `${m}64`],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 2,
    rewrite: callout(
      `${m === "xsaves" ? "saves" : "restores"} the state components EDX:EAX selects of the virtual XCR0 | IA32_XSS ` +
        `${m === "xsaves" ? "to" : "from"} the compacted XSAVE area at the operand, ${RESUME}`,
    ),
    meaning:
      m === "xsaves"
        ? "Saves processor extended state, supervisor components (IA32_XSS) included, to memory in the compacted format."
        : "Restores processor extended state, supervisor components (IA32_XSS) included, from the compacted format.",
    why: `${WHY_PG}: ${m} faults (#GP) at CPL>0; the supervisor state it covers (IA32_XSS) is the hypervisor's.`,
    backends: {
      raw: RAW,
      trap: trapGp(`#GP at CPL>0 → VMM ${m === "xsaves" ? "saves" : "restores"} with the virtual XCR0 and IA32_XSS`),
      vtx: native("#UD in the guest unless the VMM sets 'enable XSAVES/XRSTORS'; then it exits only for the components the XSS-exiting bitmap selects (reasons 63/64)"),
      xen: wcall("uses the virtual IA32_XSS (Xen does not offer XSAVES to PV guests)"),
      l4: wcall("uses the virtual IA32_XSS"),
    },
    opcodes: [{ opcode: 0x1c7, reg: m === "xsaves" ? 5 : 3, mem: true }],
    icedCodes: m === "xsaves" ? ["Xsaves_mem", "Xsaves64_mem"] : ["Xrstors_mem", "Xrstors64_mem"],
    example: { att32: `${m} (%eax)`, att64: `${m}64 (%rax)` },
    feature: "XSAVES",
  })),
  {
    id: "invpcid",
    mnemonics: ["invpcid"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 1,
    rewrite: callout(
      `invalidates what the type in the register and the descriptor at the memory operand name (one address of a PCID, ` +
        `one PCID, all, or all but global) in the backend, ${RESUME}`,
    ),
    meaning: "Invalidates TLB entries by process-context identifier: one address, one PCID, all contexts, or all but global ones.",
    why: `${WHY_PG}: invpcid faults (#GP) at CPL>0; the real TLB maps the hypervisor's view.`,
    backends: {
      raw: RAW,
      trap: trapGp("#GP at CPL>0 → VMM invalidates its shadow page tables for the address or PCID"),
      vtx: native("#UD in the guest unless the VMM sets 'enable INVPCID'; then INVLPG exiting makes it exit (reason 58)"),
      xen: hcall("mmuext_op", "mmuext_op(MMUEXT_INVLPG_LOCAL) for one address, else MMUEXT_TLB_FLUSH_LOCAL"),
      l4: ipc("unmaps the page or flushes the space (L4_Unmap / L4_Flush)", "l4.unmap"),
    },
    opcodes: [{ opcode: 0x282, prefix: 0x66, mem: true }],
    icedCodes: ["Invpcid_r32_m128", "Invpcid_r64_m128"],
    example: { att32: "invpcid (%eax),%ebx", att64: "invpcid (%rax),%rbx" },
    feature: "INVPCID",
  },
  {
    id: "monitor",
    mnemonics: ["monitor"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 2,
    rewrite: callout(`records the armed address range in the vCPU for a following mwait, ${RESUME}`),
    meaning: "Arms address monitoring of the range at DS:EAX for a following mwait (ECX extensions, EDX hints).",
    why: `${WHY_PG}: monitor raises #UD at CPL>0 (unless ring-3 MONITOR/MWAIT is enabled); the monitoring hardware is the hypervisor's.`,
    backends: {
      raw: RAW,
      trap: trapGp("#UD at CPL>0 → VMM arms a virtual monitor"),
      vtx: exit("MONITOR exiting (reason 39)", "vtx.exit.monitor-mwait"),
      xen: wcall("records the range in the virtual CPU (nothing real is armed)"),
      l4: wcall("records the range in the virtual CPU (nothing real is armed)"),
    },
    opcodes: [{ opcode: 0x101, reg: 1, rm: 0, mem: false }],
    icedCodes: ["Monitorw", "Monitord", "Monitorq"],
    example: { att32: "monitor %eax,%ecx,%edx", att64: "monitor %rax,%ecx,%edx" },
    feature: "MONITOR",
  },
  {
    id: "mwait",
    mnemonics: ["mwait"],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 2,
    rewrite: callout(`idles the vCPU until an interrupt arrives, as hlt does (a write to the monitored range is not tracked), ${RESUME}`),
    meaning: "Waits in an optimized state until a write to the monitored range or an interrupt (EAX hints, ECX extensions).",
    why: `${WHY_PG}: mwait raises #UD at CPL>0 (unless ring-3 MONITOR/MWAIT is enabled); a guest must yield its virtual CPU, not stop the real one.`,
    backends: {
      raw: RAW,
      trap: trapGp("#UD at CPL>0 → VMM idles the virtual CPU"),
      vtx: exit("MWAIT exiting (reason 36)", "vtx.exit.monitor-mwait"),
      xen: hcall("sched_op", "sched_op(SCHEDOP_block), as for hlt"),
      l4: ipc("L4_Wait for the next IRQ or virtual-IRQ IPC, as for hlt"),
    },
    opcodes: [{ opcode: 0x101, reg: 1, rm: 1, mem: false }],
    icedCodes: ["Mwait"],
    example: { att32: "mwait %eax,%ecx", att64: "mwait %eax,%ecx" },
    feature: "MONITOR",
  },
  ...(["clac", "stac"] as const).map((m): CatalogueEntry => ({
    id: m,
    mnemonics: [m],
    condition: { kind: "any" },
    class: "privileged",
    modes: ["ia32", "x86-64"],
    padding: 2,
    rewrite: callout(`${m === "clac" ? "clears" : "sets"} the virtual AC flag, ${RESUME}`),
    meaning:
      m === "clac"
        ? "Clears EFLAGS.AC: under SMAP, supervisor accesses to user pages fault again."
        : "Sets EFLAGS.AC: under SMAP, supervisor accesses to user pages are allowed (copy_from_user).",
    why: `${WHY_PG}: ${m} raises #UD at CPL>0; the guest kernel means its virtual SMAP override, and SMAP on the real CPU is the hypervisor's.`,
    backends: {
      raw: RAW,
      trap: trapGp(`#UD at CPL>0 → VMM ${m === "clac" ? "clears" : "sets"} the virtual AC`),
      vtx: native("no VM exit: the guest owns RFLAGS.AC and CR4.SMAP"),
      xen: wcall(`${m === "clac" ? "clears" : "sets"} the virtual AC (Xen does not offer SMAP to PV guests)`),
      l4: wcall(`${m === "clac" ? "clears" : "sets"} the virtual AC`),
    },
    opcodes: [{ opcode: 0x101, reg: 1, rm: m === "clac" ? 2 : 3, mem: false }],
    icedCodes: [m === "clac" ? "Clac" : "Stac"],
    example: { att32: m, att64: m },
    feature: "SMAP",
  })),
  ...(["rdfsbase", "rdgsbase", "wrfsbase", "wrgsbase"] as const).map((m, reg): CatalogueEntry => {
    const seg = m.slice(2, 4);
    const write = m.startsWith("wr");
    const cap = m[0]!.toUpperCase() + m.slice(1);
    return {
      id: m,
      mnemonics: [m],
      condition: { kind: "any" },
      class: "platform",
      modes: ["x86-64"],
      padding: 2,
      rewrite: callout(write ? `sets the virtual ${seg} base (and the real one through the backend), ${RESUME}` : `returns the virtual ${seg} base, ${RESUME}`),
      meaning: `${write ? "Writes" : "Reads"} the ${seg.toUpperCase()} segment base ${write ? "from" : "into"} a general register (64-bit mode, with CR4.FSGSBASE set).`,
      why:
        "Unprivileged and no protection state is involved, but it is enabled by the real CR4.FSGSBASE and " +
        `${write ? "writes" : "reads"} the real segment base, both the hypervisor's to keep: as with rdtsc and CR4.TSD, ` +
        "a virtual platform must decide what the guest gets.",
      backends: {
        raw: RAW,
        trap: native("runs natively under the host's CR4.FSGSBASE on the guest's own bases (the VMM emulates swapgs on them)"),
        vtx: native("no VM exit: the guest's own bases and CR4.FSGSBASE"),
        xen: write ? hcall("set_segment_base", `set_segment_base(${seg === "fs" ? "SEGBASE_FS" : "SEGBASE_GS_KERNEL"}, value)`) : native("left native: Xen keeps the real base the guest's"),
        l4: write ? wcall(`sets the virtual ${seg} base, which the wedge loads into the thread`) : native("left native: the L4 thread's own base"),
      },
      opcodes: [{ opcode: 0x1ae, reg, mem: false, prefix: 0xf3 }],
      icedCodes: [`${cap}_r32`, `${cap}_r64`],
      example: { att64: `${m} %rax` },
      feature: "FSGSBASE",
    };
  }),
];
