// vtx: hardware-assisted full virtualization (Intel VT-x). Nothing is rewritten; the guest runs in VMX non-root
// ring 0 and a sensitive instruction causes a VM exit exactly where the SDM says (vol. 3C §25.1–25.2,
// virtualization-facts.md §2): unconditionally (CPUID, INVD), or per the VM-execution controls below. Each exit is
// handled by the VMM model (the instruction's effect on the guest is the bare-metal one) and priced.

import { entryForForm, hookForms } from "../../core/isa/index.js";
import { CPUID_EXTENSIONS } from "../../machine/index.js";
import type { LedgerEventKind } from "../types.js";
import { decode32 } from "../decode.js";
import { WedgeLoadError } from "../loader.js";
import { describeException, interposeInterrupts, linearEip, type Platform, type PlatformContext } from "./platform.js";
import { unrewrittenSites } from "./unrewritten.js";

/** The VM-execution controls the model honours, with their defaults (a NetBurst-era VMM without EPT). */
export const VTX_CONTROLS: Readonly<Record<string, { default: boolean; meaning: string }>> = {
  hltExiting: { default: true, meaning: "HLT exiting (exit reason 12)" },
  invlpgExiting: { default: true, meaning: "INVLPG exiting (reason 14), needed for shadow paging" },
  cr3LoadExiting: { default: true, meaning: "CR3-load exiting (reason 28)" },
  cr3StoreExiting: { default: true, meaning: "CR3-store exiting (reason 28)" },
  cr0Cr4GuestHostMask: { default: true, meaning: "CR0/CR4 guest/host masks own PE, PG, TS, CD/NW and PAE/PSE/PGE: writes changing them exit (reason 28); clts/lmsw too" },
  movDrExiting: { default: true, meaning: "MOV-DR exiting (reason 29)" },
  unconditionalIoExiting: { default: true, meaning: "unconditional I/O exiting (reason 30); off = no I/O exits (no I/O bitmaps modelled)" },
  useMsrBitmaps: { default: false, meaning: "MSR bitmaps (off: every RDMSR/WRMSR exits, reasons 31/32)" },
  descriptorTableExiting: { default: false, meaning: "descriptor-table exiting: LGDT/LIDT/LLDT/LTR/SGDT/SIDT/SLDT/STR exit (reasons 46/47)" },
  rdtscExiting: { default: false, meaning: "RDTSC exiting (reason 16)" },
  rdpmcExiting: { default: false, meaning: "RDPMC exiting (reason 15)" },
  wbinvdExiting: { default: true, meaning: "WBINVD exiting (reason 54)" },
  externalInterruptExiting: { default: true, meaning: "external-interrupt exiting (reason 1), then injection" },
  pageFaultExiting: { default: true, meaning: "#PF in the exception bitmap (reason 0): shadow paging without EPT" },
};

const CR0_MASK = 0x80000000 | 0x60000000 | 0x8 | 0x1;
const CR4_MASK = 0x10 | 0x20 | 0x80;
const CR4_OSXSAVE = 1 << 18;

export function createVtx(ctx: PlatformContext): Platform {
  const cpu = ctx.machine.cpu;
  const controls: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(VTX_CONTROLS)) controls[k] = v.default;
  for (const [k, v] of Object.entries(ctx.options.vtx ?? {})) {
    if (!(k in VTX_CONTROLS)) throw new WedgeLoadError(`unknown VT-x control "${k}" (known: ${Object.keys(VTX_CONTROLS).join(", ")})`);
    controls[k] = v;
  }
  let exits = 0;
  const exit = (at: number, cost: string, detail: string, catalogueId?: string) => {
    exits++;
    ctx.ledger.record("vm-exit" as LedgerEventKind, at, cost, detail, cpu.instructionCount, catalogueId);
  };
  /** The source register value of a mov to a control register at `lin`. */
  const movSource = (lin: number): number | undefined => {
    const d = decode32(cpu.readLinear(lin, 15), lin);
    const src = d?.operands[1];
    return src?.kind === "reg" && src.reg.kind === "gpr" ? cpu.regs[src.reg.index]! >>> 0 : undefined;
  };

  /** Whether this instruction exits under the current controls, and why. */
  const exitFor = (id: string, lin: number): string | undefined => {
    switch (id) {
      case "cpuid": return "reason 10: CPUID (unconditional)";
      case "invd": return "reason 13: INVD (unconditional)";
      case "hlt": return controls.hltExiting ? "reason 12: HLT exiting" : undefined;
      case "invlpg": return controls.invlpgExiting ? "reason 14: INVLPG exiting" : undefined;
      case "mov-to-cr3": return controls.cr3LoadExiting ? "reason 28: CR3-load exiting" : undefined;
      case "mov-from-cr3": return controls.cr3StoreExiting ? "reason 28: CR3-store exiting" : undefined;
      case "mov-to-cr0":
      case "mov-to-cr4": {
        if (!controls.cr0Cr4GuestHostMask) return undefined;
        const v = movSource(lin);
        const n = id === "mov-to-cr0" ? 0 : 4;
        const mask = n === 0 ? CR0_MASK : CR4_MASK;
        return v !== undefined && ((v ^ cpu.cr[n]!) & mask) !== 0 ? `reason 28: mov to cr${n} changes a bit owned by the guest/host mask` : undefined;
      }
      case "clts": return controls.cr0Cr4GuestHostMask && cpu.cr[0]! & 0x8 ? "reason 28: CLTS with TS owned by the host" : undefined;
      case "lmsw": return controls.cr0Cr4GuestHostMask ? "reason 28: LMSW on host-owned CR0 bits" : undefined;
      case "mov-from-dr":
      case "mov-to-dr": return controls.movDrExiting ? "reason 29: MOV-DR exiting" : undefined;
      case "rdmsr": return controls.useMsrBitmaps ? undefined : "reason 31: RDMSR (no MSR bitmaps)";
      case "wrmsr": return controls.useMsrBitmaps ? undefined : "reason 32: WRMSR (no MSR bitmaps)";
      case "lgdt": case "lidt": case "sgdt": case "sidt":
        return controls.descriptorTableExiting ? "reason 46: GDTR/IDTR access (descriptor-table exiting)" : undefined;
      case "lldt": case "ltr": case "sldt": case "str":
        return controls.descriptorTableExiting ? "reason 47: LDTR/TR access (descriptor-table exiting)" : undefined;
      case "rdtsc": case "rdtscp": return controls.rdtscExiting ? "reason 16: RDTSC exiting" : undefined;
      case "rdpmc": return controls.rdpmcExiting ? "reason 15: RDPMC exiting" : undefined;
      case "wbinvd": return controls.wbinvdExiting ? "reason 54: WBINVD exiting" : undefined;
      case "wbnoinvd": return controls.wbinvdExiting ? "reason 54: WBNOINVD (WBINVD exiting)" : undefined;
      case "xsetbv": return cpu.cr[4]! & CR4_OSXSAVE ? "reason 55: XSETBV (unconditional)" : undefined;
      case "monitor": return "reason 39: MONITOR exiting (always set: the guest must not arm the real monitor)";
      case "mwait": return "reason 36: MWAIT exiting (always set: the guest must not stop the real CPU)";
      default:
        if (/^(in|out)/.test(id)) return controls.unconditionalIoExiting ? "reason 30: I/O instruction (unconditional I/O exiting)" : undefined;
        return undefined;
    }
  };
  const costFor = (id: string, beh: string): string => {
    if (id === "invd") return "vtx.exit.cache";
    if (id === "lgdt" || id === "lidt" || id === "sgdt" || id === "sidt" || id === "lldt" || id === "ltr" || id === "sldt" || id === "str") return "vtx.exit.cr-access";
    if (id === "rdtsc" || id === "rdtscp" || id === "rdpmc") return "vtx.exit.msr";
    return beh.startsWith("vtx.") ? beh : "vtx.exit.cr-access";
  };

  cpu.setHookedForms(hookForms(32));
  cpu.hooks = {
    beforeInstruction: (form, eip) => {
      const entry = entryForForm(form, 32);
      if (!entry) return "continue";
      // Without the CPUID feature the instruction is #UD, which has priority over any VM exit (SDM vol. 3C §25.1.1).
      if (entry.feature !== undefined && !CPUID_EXTENSIONS.has(entry.feature)) return "continue";
      const lin = (cpu.segs[1]!.base + eip) >>> 0;
      const why = exitFor(entry.id, lin);
      if (why) exit(lin, costFor(entry.id, entry.backends.vtx.cost), why, entry.id);
      return "continue";
    },
    onException: (info) => {
      if (info.software) return "continue";
      if (info.vector === 14 && controls.pageFaultExiting) exit(linearEip(cpu), "vtx.exit.exception", `reason 0: ${describeException(info)} in the exception bitmap (shadow paging)`);
      else ctx.ledger.record("exception", linearEip(cpu), "native", `${describeException(info)} delivered in non-root mode`, cpu.instructionCount);
      return "continue";
    },
  };
  interposeInterrupts(
    ctx.machine,
    () => true,
    (v) => {
      if (controls.externalInterruptExiting) exit(linearEip(cpu), "vtx.exit.external-interrupt", `reason 1: external interrupt, vector ${v} injected at VM entry`);
    },
  );
  return {
    sites: unrewrittenSites(ctx.image),
    vcpu: () => undefined,
    state: () => ({ ...controls, "VM exits": exits }),
    wedgeFrame: () => undefined,
    snapshot: () => exits,
    restore: (s) => {
      exits = s as number;
    },
    takeStopMessage: () => undefined,
  };
}
