// Text-side classification (operand conditions, overrides, prefixes, suffix spellings), machine lookups, the
// hook list, padding per mode, the cost keys and the hover text.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAsm } from "../../../core/asm/index.js";
import type { InstructionStatement } from "../../../core/asm/types.js";
import {
  BACKENDS,
  CATALOGUE,
  classify,
  COSTS,
  cyclesFor,
  describe,
  entryById,
  entryForForm,
  hookForms,
  MNEMONICS,
  paddingFor,
  registerKind,
  REGISTERS_BY_KIND,
  roomFor,
  VCPU_LAYOUT,
  VCPU_SIZE,
} from "../../../core/isa/index.js";

function parse(text: string, mode: 32 | 64 = 32): InstructionStatement[] {
  return parseAsm(text + "\n", { mode })
    .statements.map((s) => s.statement)
    .filter((s): s is InstructionStatement => s.kind === "instruction");
}

function idOf(text: string, mode: 16 | 32 | 64 = 32): string | undefined {
  const insns = parse(text, mode === 16 ? 32 : mode);
  assert.equal(insns.length, 1, `"${text}" parses as one instruction`);
  return classify(insns[0]!, mode)?.id;
}

test("segment overrides, plain moves and immediates are not sensitive", () => {
  assert.equal(idOf("movl %fs:4(%eax),%ebx"), undefined);
  assert.equal(idOf("movl %eax,%gs:(%ebx)"), undefined);
  assert.equal(idOf("movl %eax,%ebx"), undefined);
  assert.equal(idOf("pushl $1"), undefined);
  assert.equal(idOf("pushl %eax"), undefined);
  assert.equal(idOf("popl %fs:8(%esp)"), undefined);
  assert.equal(idOf("jmp *(%eax)"), undefined);
  assert.equal(idOf("call *%eax"), undefined);
  assert.equal(idOf("ret"), undefined);
  assert.equal(idOf("ret $4"), undefined);
  assert.equal(idOf("nop"), undefined);
  assert.equal(idOf("movzwl %ax,%eax"), undefined);
});

test("register operands make mov/push/pop sensitive, in the right direction", () => {
  assert.equal(idOf("mov %cr3,%eax"), "mov-from-cr3");
  assert.equal(idOf("movl %eax,%cr3"), "mov-to-cr3");
  assert.equal(idOf("mov %eax,%cr0"), "mov-to-cr0");
  assert.equal(idOf("mov %cr2,%edx"), "mov-from-cr2");
  assert.equal(idOf("mov %db7,%eax"), "mov-from-dr");
  assert.equal(idOf("mov %eax,%dr7"), "mov-to-dr");
  assert.equal(idOf("movw %ax,%ds"), "mov-to-sreg");
  assert.equal(idOf("mov %ds,%eax"), "mov-from-sreg");
  assert.equal(idOf("movw %ss,(%eax)"), "mov-from-sreg");
  assert.equal(idOf("movl (%eax),%es"), "mov-to-sreg");
  assert.equal(idOf("pushl %ds"), "push-sreg");
  assert.equal(idOf("pushw %fs"), "push-sreg");
  assert.equal(idOf("push %cs"), "push-sreg");
  assert.equal(idOf("popl %ss"), "pop-sreg");
  assert.equal(idOf("pop %gs"), "pop-sreg");
  assert.equal(idOf("mov %cr8,%rax", 64), "mov-from-cr8");
  assert.equal(idOf("mov %rax,%cr8", 64), "mov-to-cr8");
  assert.equal(idOf("pushq %fs", 64), "push-sreg");
});

test("every suffix spelling classifies", () => {
  const cases: [string, string, 32 | 64][] = [
    ["popf", "popf", 32], ["popfl", "popf", 32], ["popfw", "popf", 32], ["popfq", "popf", 64], ["popfd", "popf", 32],
    ["pushf", "pushf", 32], ["pushfl", "pushf", 32], ["pushfw", "pushf", 32], ["pushfq", "pushf", 64],
    ["inb $0x60,%al", "in-imm", 32], ["inw $0x60,%ax", "in-imm", 32], ["inl $0x60,%eax", "in-imm", 32],
    ["in %dx,%al", "in-dx", 32], ["inb (%dx),%al", "in-dx", 32], ["inb", "in-dx", 32], ["inl %dx", "in-dx", 32],
    ["outb %al,$0x80", "out-imm", 32], ["outw %ax,$0x80", "out-imm", 32], ["outl %eax,(%dx)", "out-dx", 32],
    ["out %al,%dx", "out-dx", 32], ["outb", "out-dx", 32],
    ["insb", "ins", 32], ["insw", "ins", 32], ["insl", "ins", 32], ["rep insl", "ins", 32],
    ["outsb", "outs", 32], ["rep outsw", "outs", 32], ["outsl", "outs", 32],
    ["sgdtl (%eax)", "sgdt", 32], ["lgdtl (%eax)", "lgdt", 32], ["lidtw (%eax)", "lidt", 32], ["sidt (%eax)", "sidt", 32],
    ["lret", "lret", 32], ["lretl", "lret", 32], ["lretq", "lret", 64], ["lret $8", "lret-imm", 32], ["lretw $4", "lret-imm", 32],
    ["ljmp $8,$1f", "ljmp-direct", 32], ["ljmpl $0x10,$start", "ljmp-direct", 32], ["ljmpl *(%eax)", "ljmp-indirect", 32],
    ["ljmp *4(%esp)", "ljmp-indirect", 32], ["lcalll *(%ebx)", "lcall-indirect", 32], ["lcall $0x10,$0x2000", "lcall-direct", 32],
    ["iret", "iret", 32], ["iretl", "iret", 32], ["iretd", "iret", 32], ["iretw", "iret", 32], ["iretq", "iret", 64],
    ["smswl %eax", "smsw", 32], ["smsw (%eax)", "smsw", 32], ["lmsw %ax", "lmsw", 32], ["strl %eax", "str", 32],
    ["sldt %ax", "sldt", 32], ["ltr %ax", "ltr", 32], ["lldt %ax", "lldt", 32],
    ["int $0x80", "int", 32], ["int3", "int3", 32], ["into", "into", 32], ["int1", "int1", 32],
    ["sysenter", "sysenter", 32], ["sysexit", "sysexit", 32], ["syscall", "syscall", 64], ["sysretq", "sysret", 64],
    ["swapgs", "swapgs", 64], ["rdtsc", "rdtsc", 32], ["rdtscp", "rdtscp", 32], ["rdpmc", "rdpmc", 32],
    ["verr %ax", "verr", 32], ["verw (%eax)", "verw", 32], ["lar %ax,%bx", "lar", 32], ["lsl %eax,%ebx", "lsl", 32],
    ["arpl %ax,%bx", "arpl", 32], ["lds (%eax),%ebx", "lds", 32], ["lss (%eax),%esp", "lss", 32], ["lfs (%rax),%ebx", "lfs", 64],
    ["wrmsr", "wrmsr", 32], ["rdmsr", "rdmsr", 32], ["cpuid", "cpuid", 32], ["clts", "clts", 32], ["rsm", "rsm", 32],
    ["wbinvd", "wbinvd", 32], ["invd", "invd", 32], ["invlpg (%eax)", "invlpg", 32], ["hlt", "hlt", 32], ["ud2", "ud2", 32],
    ["cli", "cli", 32], ["sti", "sti", 32], ["CLI", "cli", 32],
    ["xsetbv", "xsetbv", 32], ["xgetbv", "xgetbv", 64], ["xsaves (%eax)", "xsaves", 32], ["xsaves64 (%rax)", "xsaves", 64],
    ["xrstors (%rax)", "xrstors", 64], ["xrstors64 (%rax)", "xrstors", 64], ["invpcid (%eax),%ebx", "invpcid", 32],
    ["invpcid (%rax),%rbx", "invpcid", 64], ["wbnoinvd", "wbnoinvd", 32], ["monitor", "monitor", 32],
    ["monitor %eax,%ecx,%edx", "monitor", 32], ["monitor %rax,%ecx,%edx", "monitor", 64], ["mwait", "mwait", 32],
    ["mwait %eax,%ecx", "mwait", 64], ["clac", "clac", 32], ["stac", "stac", 64], ["rdfsbase %rax", "rdfsbase", 64],
    ["rdgsbase %eax", "rdgsbase", 64], ["wrfsbase %rdi", "wrfsbase", 64], ["wrgsbase %rax", "wrgsbase", 64],
  ];
  for (const [text, id, mode] of cases) assert.equal(idOf(text, mode), id, `"${text}" (${mode}-bit)`);
});

test("int $3 is int3: GNU as assembles a constant 3 as the one-byte CC, not CD 03", () => {
  for (const text of ["int $3", "int $0x3", "int $03", "int $0b11", "int $(1+2)"]) assert.equal(idOf(text), "int3", text);
  for (const text of ["int $4", "int $0x80", "int $VEC", "int $0x30"]) assert.equal(idOf(text), "int", text);
});

test("lock and rep prefixes do not change the classification", () => {
  assert.equal(idOf("lock; cli"), "cli");
  assert.equal(idOf("rep outsb"), "outs");
  assert.equal(idOf("rep; insl"), "ins");
  assert.equal(idOf("lock movl %eax,(%ebx)"), undefined);
  const [insn] = parse("cli");
  assert.equal(classify({ ...insn!, prefixes: [{ name: "lock", span: insn!.span }] }, 32)?.id, "cli");
});

test("mode-restricted forms classify only in their mode", () => {
  assert.equal(idOf("arpl %ax,%bx", 64), undefined, "63 /r is movsxd in 64-bit mode");
  assert.equal(idOf("lds (%eax),%ebx", 64), undefined);
  assert.equal(idOf("into", 64), undefined);
  assert.equal(idOf("ljmp $8,$0", 64), undefined);
  assert.equal(idOf("swapgs", 32), undefined);
  assert.equal(idOf("mov %cr8,%eax", 32), undefined);
  assert.equal(idOf("cli", 16), "cli", "16-bit code uses the IA-32 forms");
  assert.equal(idOf("lgdtl (%eax)", 16), "lgdt");
  // GNU as assembles these in 32-bit code, but the CPU raises #UD outside 64-bit mode: nothing to pad.
  assert.equal(idOf("rdfsbase %eax", 32), undefined);
  assert.equal(idOf("wrgsbase %eax", 32), undefined);
});

test("machine classification: group opcodes, register forms and 64-bit reassignments", () => {
  const id = (f: Parameters<typeof entryForForm>[0], mode: 32 | 64 = 32) => entryForForm(f, mode)?.id;
  assert.equal(id({ opcode: 0xfa }), "cli");
  assert.equal(id({ opcode: 0x101, reg: 7, rm: 0, mem: false }, 64), "swapgs");
  assert.equal(id({ opcode: 0x101, reg: 7, rm: 0, mem: false }, 32), undefined, "0F 01 F8 is invalid in 32-bit mode");
  assert.equal(id({ opcode: 0x101, reg: 7, rm: 1, mem: false }), "rdtscp");
  assert.equal(id({ opcode: 0x101, reg: 7, rm: 0, mem: true }), "invlpg");
  assert.equal(id({ opcode: 0x101, reg: 2, rm: 0, mem: false }), "xgetbv", "0F 01 D0 is xgetbv, not lgdt");
  assert.equal(id({ opcode: 0x101, reg: 2, rm: 0, mem: true }), "lgdt");
  assert.equal(id({ opcode: 0x101, reg: 4, rm: 0, mem: false }), "smsw");
  assert.equal(id({ opcode: 0x101 }), undefined, "a group opcode needs its reg field");
  assert.equal(id({ opcode: 0x122, reg: 3, rm: 0, mem: false }), "mov-to-cr3");
  assert.equal(id({ opcode: 0x122, reg: 8, rm: 0, mem: false }, 64), "mov-to-cr8");
  assert.equal(id({ opcode: 0x122, reg: 1, rm: 0, mem: false }), undefined, "cr1 does not exist");
  assert.equal(id({ opcode: 0x120, reg: 8, rm: 0, mem: false }, 32), undefined);
  assert.equal(id({ opcode: 0xff, reg: 5, rm: 0, mem: true }), "ljmp-indirect");
  assert.equal(id({ opcode: 0xff, reg: 5, rm: 0, mem: false }), undefined);
  assert.equal(id({ opcode: 0xff, reg: 4, rm: 0, mem: true }), undefined, "near jmp *m");
  assert.equal(id({ opcode: 0x63, reg: 0, rm: 0, mem: false }, 64), undefined, "movsxd");
  assert.equal(id({ opcode: 0x63, reg: 0, rm: 0, mem: false }, 32), "arpl");
  assert.equal(id({ opcode: 0xc5, reg: 0, rm: 0, mem: true }, 32), "lds");
  assert.equal(id({ opcode: 0xc5, reg: 0, rm: 0, mem: false }, 32), undefined, "C5 with mod=11 is VEX");
  assert.equal(id({ opcode: 0x1e }, 64), undefined);
  assert.equal(id({ opcode: 0x1a0 }, 64), "push-sreg");
  assert.equal(id({ opcode: 0x90 }), undefined);
  // Mandatory prefixes: F3 0F 09 is wbnoinvd, 0F 09 (also with 66 or F2) wbinvd.
  assert.equal(id({ opcode: 0x109, prefix: 0xf3 }), "wbnoinvd");
  assert.equal(id({ opcode: 0x109 }), "wbinvd");
  assert.equal(id({ opcode: 0x109, prefix: 0x66 }), "wbinvd");
  assert.equal(id({ opcode: 0x101, reg: 2, rm: 1, mem: false }), "xsetbv");
  assert.equal(id({ opcode: 0x101, reg: 1, rm: 0, mem: false }), "monitor");
  assert.equal(id({ opcode: 0x101, reg: 1, rm: 1, mem: false }), "mwait");
  assert.equal(id({ opcode: 0x101, reg: 1, rm: 2, mem: false }), "clac");
  assert.equal(id({ opcode: 0x101, reg: 1, rm: 3, mem: false }), "stac");
  assert.equal(id({ opcode: 0x101, reg: 1, rm: 0, mem: true }), "sidt");
  assert.equal(id({ opcode: 0x1c7, reg: 5, rm: 0, mem: true }), "xsaves");
  assert.equal(id({ opcode: 0x1c7, reg: 3, rm: 0, mem: true }), "xrstors");
  assert.equal(id({ opcode: 0x1c7, reg: 1, rm: 0, mem: true }), undefined, "cmpxchg8b");
  // 0F 38 xx keys are 0x200 + xx: 66 0F 38 82 is invpcid, without 66 it is nothing.
  assert.equal(id({ opcode: 0x282, reg: 3, rm: 0, mem: true, prefix: 0x66 }), "invpcid");
  assert.equal(id({ opcode: 0x282, reg: 3, rm: 0, mem: true }), undefined);
  assert.equal(id({ opcode: 0x1ae, reg: 1, rm: 0, mem: false, prefix: 0xf3 }, 64), "rdgsbase");
  assert.equal(id({ opcode: 0x1ae, reg: 1, rm: 0, mem: false, prefix: 0xf3 }, 32), undefined, "fsgsbase is 64-bit only");
  assert.equal(id({ opcode: 0x1ae, reg: 0, rm: 0, mem: true, prefix: 0xf3 }, 64), undefined, "0F AE /0 memory is fxsave");
});

test("hookForms lists each mode's forms once, and each maps back to an entry", () => {
  for (const mode of [32, 64] as const) {
    const forms = hookForms(mode);
    const keys = forms.map((f) => JSON.stringify(f));
    assert.equal(new Set(keys).size, keys.length, "no duplicates");
    for (const f of forms) {
      const probe = { opcode: f.opcode, reg: f.reg ?? 0, rm: f.rm ?? 0, mem: f.mem ?? true, prefix: f.prefix };
      assert.ok(entryForForm(probe, mode), `${mode}-bit form ${JSON.stringify(f)} maps to an entry`);
    }
    assert.ok(forms.some((f) => f.opcode === 0xfa));
  }
  assert.ok(hookForms(32).some((f) => f.opcode === 0x63));
  assert.ok(!hookForms(64).some((f) => f.opcode === 0x63 || f.opcode === 0x1e));
  assert.ok(hookForms(64).some((f) => f.opcode === 0x101 && f.reg === 7 && f.rm === 0));
  assert.ok(!hookForms(32).some((f) => f.opcode === 0x101 && f.reg === 7 && f.rm === 0 && f.mem === false));
});

test("records are complete: ids, mnemonics, backends, cost keys, padding", () => {
  const ids = new Set<string>();
  for (const e of CATALOGUE) {
    assert.ok(!ids.has(e.id), `duplicate id ${e.id}`);
    ids.add(e.id);
    assert.equal(entryById(e.id), e);
    assert.ok(e.mnemonics.length > 0 && e.mnemonics.every((m) => m === m.toLowerCase()), e.id);
    assert.ok(e.meaning.length > 10 && e.why.length > 10, e.id);
    assert.ok(e.opcodes.length > 0 && e.icedCodes.length > 0, e.id);
    for (const b of BACKENDS) {
      const be = e.backends[b];
      assert.ok(be && be.detail.length > 0, `${e.id}.${b}`);
      assert.ok(COSTS[be.cost], `${e.id}.${b}: cost key "${be.cost}" is in core/isa/costs.ts`);
    }
    assert.equal(e.backends.raw.action, "native", `${e.id}: raw hardware runs the instruction itself`);
    if (e.class === "sensitive") {
      assert.notEqual(e.backends.trap.action, "native", `${e.id}: a sensitive instruction is a trap or a hole on trap`);
    }
    if (e.originalPadding !== undefined) assert.ok(e.padding >= e.originalPadding, `${e.id}: padding below the original's`);
    for (const mode of [32, 64] as const) assert.ok(paddingFor(e, mode) >= 0 && roomFor(e, mode) >= 5, e.id);
  }
  assert.equal(entryById("no-such-entry"), undefined);
});

test("backend facts that other parts rely on", () => {
  const be = (id: string) => entryById(id)!.backends;
  assert.equal(be("cpuid").vtx.action, "vm-exit");
  assert.equal(be("cpuid").vtx.cost, "vtx.exit.cpuid");
  for (const id of ["cli", "sti", "pushf", "popf"]) assert.equal(be(id).vtx.action, "native", id);
  for (const id of ["pushf", "popf", "sgdt", "sidt", "sldt", "str", "smsw", "lar", "lsl", "verr", "verw"]) {
    assert.equal(be(id).trap.action, "silent-wrong", id);
  }
  assert.equal(be("cli").xen.action, "inline");
  assert.equal(be("sti").xen.action, "inline");
  assert.equal(be("mov-to-cr3").xen.cost, "xen.hypercall.mmuext_op");
  assert.equal(be("lidt").xen.cost, "xen.hypercall.set_trap_table");
  assert.equal(be("hlt").xen.cost, "xen.hypercall.sched_op");
  assert.equal(be("hlt").l4.action, "ipc");
  assert.equal(entryById("popf")!.rewrite.kind, "inline");
  assert.equal(entryById("hlt")!.rewrite.kind, "call");
});

test("vCPU layout: fields are 8-byte slots inside the block, segment slots follow ModRM sreg order", () => {
  const offs = Object.values(VCPU_LAYOUT);
  assert.equal(new Set(offs).size, offs.length, "no overlapping fields");
  for (const o of offs) assert.ok(o % 8 === 0 && o + 8 <= VCPU_SIZE, `offset ${o}`);
  assert.deepEqual(
    ["es", "cs", "ss", "ds", "fs", "gs"].map((s) => VCPU_LAYOUT[s as keyof typeof VCPU_LAYOUT]),
    [0, 1, 2, 3, 4, 5].map((n) => VCPU_LAYOUT.es + 8 * n),
  );
});

test("costs: every figure has a source; cyclesFor rejects unknown keys", () => {
  for (const [k, c] of Object.entries(COSTS)) {
    assert.ok(c.source.length > 10 && Number.isFinite(c.cycles) && c.cycles >= 0, k);
  }
  assert.ok(cyclesFor("vtx.exit.cpuid") > cyclesFor("wedge.call"));
  assert.ok(cyclesFor("wedge.call") > cyclesFor("inline"));
  assert.throws(() => cyclesFor("vtx.exit.bogus"), /unknown cost key/);
});

test("mnemonic list, register kinds and hover text", () => {
  const names = MNEMONICS.map((m) => m.mnemonic);
  assert.deepEqual(names, [...names].sort());
  for (const m of ["cli", "popfl", "lgdtl", "movl", "pushw", "outsb", "iretq"]) assert.ok(names.includes(m), m);
  const movl = MNEMONICS.find((m) => m.mnemonic === "movl")!;
  assert.match(movl.note, /control register/);
  assert.match(movl.note, /segment register/);
  assert.ok(movl.entries.includes("mov-to-cr3"));
  assert.equal(registerKind("%CR3"), "control");
  assert.equal(registerKind("db7"), "debug");
  assert.equal(registerKind("fs"), "segment");
  assert.equal(registerKind("r10d"), "general");
  assert.equal(registerKind("st(1)"), undefined);
  assert.ok(REGISTERS_BY_KIND.segment.includes("gs"));
  const md = describe(entryById("mov-to-cr3")!);
  assert.match(md, /^\*\*mov\*\*/);
  assert.match(md, /\| xen \| hypercall: mmuext_op/);
  for (const b of BACKENDS) assert.match(md, new RegExp(`\\| ${b} \\|`));
  assert.match(describe(entryById("cli")!), /8 NOP bytes \(9 in 64-bit code\) \(original afterburner: 7\)/);
  assert.match(describe(entryById("xsetbv")!), /\*Needs:\* CPUID feature XSAVE \(#UD without it/);
  assert.match(describe(entryById("xsetbv")!), /\| vtx \| vm-exit: unconditional VM exit \(reason 55\).*\| vtx\.exit\.xsetbv \(~2600 cycles\) \|/);
  assert.doesNotMatch(describe(entryById("cli")!), /Needs:/);
});
