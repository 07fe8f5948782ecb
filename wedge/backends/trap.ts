// trap: classic trap-and-emulate on x86. Nothing is rewritten; the guest kernel runs deprivileged (ring 1) under a
// VMM model. Privileged instructions fault (#GP/#UD) into the VMM, which emulates them on the guest's behalf (the
// effect the guest sees is the bare-metal one) and is charged a trap. The sensitive-unprivileged ones (Robin &
// Irvine) do not fault: they execute with their CPL>0 meaning, and each time that result differs from what the
// guest would see on bare metal the ledger records a hole at that site and the guest gets the CPL>0 result.

import { entryForForm, hookForms, type CatalogueEntry } from "../../core/isa/index.js";
import { CPUID_EXTENSIONS, type Cpu } from "../../machine/index.js";
import { decode32, type DecodedInsn, type Operand } from "../decode.js";
import { describeException, EFLAGS_IF, EFLAGS_IOPL, ESP, hex, interposeInterrupts, linearEip, read32, stackTop, write32, type Platform, type PlatformContext } from "./platform.js";
import { PageTableWatch } from "./page-tables.js";
import { unrewrittenSites } from "./unrewritten.js";

/** The VMM's own state that a deprivileged guest can observe through the holes. */
export const TRAP_HOST = {
  /** The VMM occupies the top 4 MiB; its descriptor tables live there. */
  gdtr: { base: 0xffc01000, limit: 0x00ff },
  idtr: { base: 0xffc02000, limit: 0x07ff },
  ldtr: 0x0000,
  tr: 0x0078,
  /** Low word of the host CR0: PE, MP, TS (lazy FPU switching), ET, NE. */
  msw: 0x003b,
} as const;

const ZF = 0x40;

function ea(cpu: Cpu, m: Extract<Operand, { kind: "mem" }>): number {
  let a = m.disp;
  if (m.base >= 0) a += cpu.regs[m.base]!;
  if (m.index >= 0) a += cpu.regs[m.index]! * m.scale;
  return (cpu.segs[m.seg]!.base + a) >>> 0;
}

function readOp16(cpu: Cpu, op: Operand | undefined): number | undefined {
  if (!op) return undefined;
  if (op.kind === "reg" && op.reg.kind === "gpr") return cpu.regs[op.reg.index]! & 0xffff;
  if (op.kind === "mem") {
    const b = cpu.readLinear(ea(cpu, op), 2);
    return b[0]! | (b[1]! << 8);
  }
  return undefined;
}

/** Write a value to a register (zero-extended to 32 bits when `zeroExtend`) or 2 bytes of memory. */
function writeOp(cpu: Cpu, op: Operand | undefined, value: number, zeroExtend: boolean): boolean {
  if (!op) return false;
  if (op.kind === "reg" && op.reg.kind === "gpr") {
    const i = op.reg.index;
    cpu.regs[i] = op.reg.size === 4 && zeroExtend ? value : (cpu.regs[i]! & ~0xffff) | (value & 0xffff);
    return true;
  }
  if (op.kind === "mem") {
    cpu.writeLinear(ea(cpu, op), Uint8Array.of(value & 0xff, (value >>> 8) & 0xff));
    return true;
  }
  return false;
}

function push32(cpu: Cpu, value: number): void {
  cpu.regs[ESP] = (cpu.regs[ESP]! - 4) | 0;
  write32(cpu, stackTop(cpu), value);
}

/** Descriptor words (lo, hi) for a selector from the GDT or LDT the CPU uses; undefined for null / out of range. */
function descriptor(cpu: Cpu, sel: number): [number, number] | undefined {
  if ((sel & ~3) === 0) return undefined;
  const table = sel & 4 ? { base: cpu.ldtr.base, limit: cpu.ldtr.limit } : cpu.gdtr;
  const off = sel & ~7;
  if (off + 7 > table.limit) return undefined;
  return [read32(cpu, table.base + off), read32(cpu, table.base + off + 4)];
}

/** Whether lar/lsl/verr/verw find the descriptor's type acceptable (the same at any CPL). */
function typeOk(id: string, hi: number): boolean {
  const s = (hi >>> 12) & 1;
  const type = (hi >>> 8) & 0xf;
  if (id === "verr") return s === 1 && (!(type & 8) || (type & 2) !== 0);
  if (id === "verw") return s === 1 && !(type & 8) && (type & 2) !== 0;
  if (s === 1) return true;
  return (id === "lar" ? [1, 2, 3, 4, 5, 9, 0xb, 0xc] : [1, 2, 3, 9, 0xb]).includes(type);
}

export function createTrap(ctx: PlatformContext): Platform {
  const cpu = ctx.machine.cpu;
  const decoded = new Map<number, DecodedInsn | undefined>();
  const decodeAt = (lin: number) => {
    if (!decoded.has(lin)) decoded.set(lin, decode32(cpu.readLinear(lin, 15), lin));
    return decoded.get(lin);
  };
  const hole = (lin: number, entry: CatalogueEntry, detail: string) =>
    ctx.ledger.record("hole", lin, entry.backends.trap.cost, detail, cpu.instructionCount, entry.id);
  const pageTables = new PageTableWatch(ctx.machine, (page, eip, instruction) =>
    ctx.ledger.record("trap", eip, "trap.pt-write", `write to write-protected page table ${hex(page << 12)}: the VMM updates its shadow`, instruction),
  );

  /** The CPL>0 behaviour of a sensitive-unprivileged instruction: "handled" after a hole, else undefined. */
  const silent = (entry: CatalogueEntry, lin: number): "handled" | undefined => {
    const d = decodeAt(lin);
    if (!d || cpu.cpl !== 0) return undefined; // the guest's own user code sees what it would see on bare metal
    const [op0, op1] = d.operands;
    switch (entry.id) {
      case "pushf": {
        if (d.opsize16) return undefined;
        const bare = cpu.getEflags() & ~0x30000; // pushf clears VM and RF in the image
        const seen = (bare | EFLAGS_IF) & ~EFLAGS_IOPL; // the VMM runs the guest with IF = 1 and IOPL = 0
        if (seen === bare) return undefined;
        push32(cpu, seen);
        hole(lin, entry, `pushf pushed IF=1 IOPL=0; bare metal: IF=${(bare >>> 9) & 1} IOPL=${(bare >>> 12) & 3}`);
        return "handled";
      }
      case "popf": {
        if (d.opsize16) return undefined;
        const v = read32(cpu, stackTop(cpu));
        const cur = cpu.getEflags();
        const keep = EFLAGS_IF | EFLAGS_IOPL;
        if ((v & keep) === (cur & keep)) return undefined;
        cpu.setEflags(((v & ~keep & 0x254fd5) | (cur & keep) | 0x2) >>> 0);
        cpu.regs[ESP] = (cpu.regs[ESP]! + 4) | 0;
        hole(lin, entry, `popf dropped IF=${(v >>> 9) & 1} IOPL=${(v >>> 12) & 3} (kept IF=${(cur >>> 9) & 1}): no fault at CPL 1, IOPL 0`);
        return "handled";
      }
      case "smsw": {
        const bare = cpu.cr[0]! & 0xffff;
        if (bare === TRAP_HOST.msw) return undefined;
        const r32 = op0?.kind === "reg" && op0.reg.kind === "gpr" && op0.reg.size === 4;
        writeOp(cpu, op0, r32 ? ((cpu.cr[0]! & 0xffff0000) | TRAP_HOST.msw) >>> 0 : TRAP_HOST.msw, true);
        hole(lin, entry, `smsw stored the host's ${hex(TRAP_HOST.msw).replace(/^0x0+/, "0x")}; bare metal: ${hex(bare).replace(/^0x0+/, "0x")}`);
        return "handled";
      }
      case "sgdt":
      case "sidt": {
        if (op0?.kind !== "mem") return undefined;
        const host = entry.id === "sgdt" ? TRAP_HOST.gdtr : TRAP_HOST.idtr;
        const real = entry.id === "sgdt" ? cpu.gdtr : cpu.idtr;
        if (real.base >>> 0 === host.base && real.limit === host.limit) return undefined;
        const a = ea(cpu, op0);
        cpu.writeLinear(a, Uint8Array.of(host.limit & 0xff, host.limit >>> 8, host.base & 0xff, (host.base >>> 8) & 0xff, (host.base >>> 16) & 0xff, host.base >>> 24));
        hole(lin, entry, `${entry.id} stored the VMM's table (base ${hex(host.base)}, limit ${hex(host.limit)}); the guest's is at ${hex(real.base)}`);
        return "handled";
      }
      case "sldt":
      case "str": {
        const host = entry.id === "sldt" ? TRAP_HOST.ldtr : TRAP_HOST.tr;
        const bare = entry.id === "sldt" ? cpu.ldtr.selector : cpu.tr.selector;
        if (bare === host) return undefined;
        writeOp(cpu, op0, host, true);
        hole(lin, entry, `${entry.id} stored the VMM's selector ${hex(host)}; the guest's is ${hex(bare)}`);
        return "handled";
      }
      case "mov-from-sreg":
      case "push-sreg": {
        const src = entry.id === "push-sreg" ? op0 : op1;
        if (src?.kind !== "reg" || src.reg.kind !== "sreg" || (src.reg.index !== 1 && src.reg.index !== 2)) return undefined;
        const bare = cpu.segs[src.reg.index]!.selector;
        const seen = (bare & ~3) | 1;
        if (entry.id === "push-sreg") {
          if (d.opsize16) return undefined;
          push32(cpu, seen);
        } else writeOp(cpu, op0, seen, true);
        hole(lin, entry, `%${src.reg.index === 1 ? "cs" : "ss"} reads ${hex(seen)} (RPL 1, the deprivileged ring); bare metal: ${hex(bare)}`);
        return "handled";
      }
      case "lar":
      case "lsl":
      case "verr":
      case "verw": {
        const selOp = entry.id === "lar" || entry.id === "lsl" ? op1 : op0;
        const sel = readOp16(cpu, selOp);
        if (sel === undefined) return undefined;
        const desc = descriptor(cpu, sel);
        if (!desc || !typeOk(entry.id, desc[1])) return undefined;
        const hi = desc[1];
        const dpl = (hi >>> 13) & 3;
        const conforming = ((hi >>> 12) & 1) === 1 && ((hi >>> 8) & 0xc) === 0xc;
        const rpl = sel & 3;
        const bareOk = conforming || dpl >= rpl;
        const deprivOk = conforming || (dpl >= 1 && dpl >= rpl);
        if (!bareOk || deprivOk) return undefined;
        cpu.setEflags(cpu.getEflags() & ~ZF);
        hole(lin, entry, `${entry.id} on selector ${hex(sel)} (DPL ${dpl}) fails at CPL 1 (ZF=0); bare metal: accessible`);
        return "handled";
      }
      default:
        return undefined;
    }
  };

  /** The instruction the VMM last took a trap for: an exception it raises is injected on that same entry. */
  let trapped: { lin: number; instruction: number } | undefined;

  cpu.setHookedForms(hookForms(32));
  cpu.hooks = {
    beforeInstruction: (form, eip) => {
      const entry = entryForForm(form, 32);
      if (!entry) return "continue";
      // A CPU without the feature raises #UD before any privilege check: no #GP for the VMM to emulate, only
      // the #UD to reflect (onException).
      if (entry.feature !== undefined && !CPUID_EXTENSIONS.has(entry.feature)) return "continue";
      const lin = (cpu.segs[1]!.base + eip) >>> 0;
      const beh = entry.backends.trap;
      if (beh.action === "silent-wrong") return silent(entry, lin) ?? "continue";
      if (beh.action !== "trap" || cpu.cpl === 3) return "continue";
      ctx.ledger.record("trap", lin, beh.cost, beh.detail, cpu.instructionCount, entry.id);
      trapped = { lin, instruction: cpu.instructionCount };
      if (entry.id === "mov-to-cr3" || entry.id === "mov-to-cr0") {
        // Emulated here so that the VMM can write-protect the guest's new page tables (shadow paging).
        const d = decodeAt(lin);
        const src = d?.operands[1];
        if (src?.kind === "reg" && src.reg.kind === "gpr") {
          cpu.setCr(entry.id === "mov-to-cr3" ? 3 : 0, cpu.regs[src.reg.index]! >>> 0);
            if (cpu.cr[0]! & 0x80000000) pageTables.track(cpu.cr[3]! & 0xfffff000);
          return "handled";
        }
      }
      return "continue";
    },
    onException: (info) => {
      // The VMM emulating a trapped instruction finds it faults (rdmsr of an unknown MSR, ud2's own #UD) and
      // injects the exception on the same entry: one world switch, already in the ledger.
      const t = trapped;
      trapped = undefined;
      if (t && t.instruction === cpu.instructionCount && t.lin === linearEip(cpu)) return "continue";
      if (!info.software) ctx.ledger.record("exception", linearEip(cpu), "trap.reflect", `${describeException(info)} enters the VMM, reflected through the virtual IDT`, cpu.instructionCount);
      return "continue";
    },
  };
  interposeInterrupts(
    ctx.machine,
    () => true,
    (v) => ctx.ledger.record("trap", linearEip(cpu), "trap.reflect", `interrupt vector ${v} taken by the VMM, reflected through the virtual IDT`, cpu.instructionCount),
  );
  return {
    sites: unrewrittenSites(ctx.image),
    vcpu: () => undefined,
    state: () => ({
      "guest ring": 1,
      "host GDTR": hex(TRAP_HOST.gdtr.base),
      "host IDTR": hex(TRAP_HOST.idtr.base),
      "page-table pages write-protected": pageTables.watchedCount(),
    }),
    wedgeFrame: () => undefined,
    settle: () => pageTables.flush(),
    snapshot: () => pageTables.snapshot(),
    restore: (s) => pageTables.restore(s),
    takeStopMessage: () => undefined,
  };
}
