// Completeness sweep: decode every one-byte, 0F xx, 0F 38 xx and 0F 3A xx opcode (every ModRM reg field, memory
// form and all eight register forms; with no prefix and with each mandatory-prefix candidate 66, F3, F2) in 32- and
// 64-bit mode with iced-x86. Whatever iced marks as
// privileged, IOPL-sensitive, possibly CPL0-only, IF-reading/modifying, a far branch or return, an interrupt, or
// writing / naming a segment register must have a catalogue entry — unless it is on the allow-list below.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Code,
  Decoder,
  DecoderOptions,
  FlowControl,
  Instruction,
  InstructionInfoFactory,
  Mnemonic,
  OpAccess,
  OpKind,
  Register,
  RflagsBits,
} from "iced-x86";
import { entryForForm } from "../../../core/isa/index.js";
import { formFromBytes } from "./x86-form.js";

/**
 * Flagged by iced but deliberately out of the catalogue's scope. The catalogue covers what a P4-era guest kernel
 * (the afterburner's target) executes; these are later extensions or other vendors' hypervisor interfaces. A guest
 * that uses them gets #UD from the bundled IA-32 emulator, which does not implement them, so nothing needs padding.
 */
const OUT_OF_SCOPE: Record<string, string> = {
  // VMX (Intel VT-x root/non-root operations): a guest kernel being pre-virtualized is not itself a hypervisor.
  Vmcall: "VMX", Vmlaunch: "VMX", Vmresume: "VMX", Vmxoff: "VMX", Vmfunc: "VMX",
  Vmread_rm32_r32: "VMX", Vmread_rm64_r64: "VMX", Vmwrite_r32_rm32: "VMX", Vmwrite_r64_rm64: "VMX",
  Vmptrld_m64: "VMX", Vmptrst_m64: "VMX", Vmclear_m64: "VMX", Vmxon_m64: "VMX",
  Invept_r32_m128: "VMX", Invept_r64_m128: "VMX", Invvpid_r32_m128: "VMX", Invvpid_r64_m128: "VMX",
  // AMD SVM: same reason.
  Vmrunw: "SVM", Vmrund: "SVM", Vmrunq: "SVM", Vmmcall: "SVM", Vmloadw: "SVM", Vmloadd: "SVM", Vmloadq: "SVM",
  Vmsavew: "SVM", Vmsaved: "SVM", Vmsaveq: "SVM", Stgi: "SVM", Clgi: "SVM", Skinit: "SVM",
  Invlpgaw: "SVM", Invlpgad: "SVM", Invlpgaq: "SVM",
  // SGX, SMX, TDX/SEAM, PCONFIG: enclave and trusted-execution interfaces, after the P4.
  Encls: "SGX", Enclu: "SGX", Enclv: "SGX", Getsecd: "SMX", Getsecq: "SMX", Pconfig: "PCONFIG", Tdcall: "TDX", Seamcall: "TDX",
  Seamret: "TDX", Seamops: "TDX",
  // Later system instructions a guest kernel of the afterburner's kind does not use (post-P4 ISA extensions; the
  // catalogue does cover xsetbv, xsaves/xrstors, invpcid, wbnoinvd, monitor/mwait, clac/stac and fsgsbase).
  Monitorxw: "AMD MONITORX", Monitorxd: "AMD MONITORX", Monitorxq: "AMD MONITORX", Mwaitx: "AMD MWAITX",
  Wrmsrns: "WRMSRNS", Setssbsy: "CET shadow stacks", Clrssbsy_m64: "CET shadow stacks", Wrussd_m32_r32: "CET shadow stacks",
  Wrussq_m64_r64: "CET shadow stacks", Loadiwkey_xmm_xmm: "Key Locker", Hreset_imm8: "HRESET", Enqcmds_r32_m512: "ENQCMD",
  Enqcmds_r64_m512: "ENQCMD", Invlpgbw: "AMD INVLPGB", Invlpgbd: "AMD INVLPGB", Invlpgbq: "AMD INVLPGB", Tlbsync: "AMD TLBSYNC",
  Rdpru: "AMD RDPRU", Erets: "FRED", Eretu: "FRED", Lkgs_rm16: "LKGS", Lkgs_r32m16: "LKGS", Lkgs_r64m16: "LKGS",
  Psmash: "SEV-SNP", Pvalidatew: "SEV-SNP", Pvalidated: "SEV-SNP", Pvalidateq: "SEV-SNP", Rmpadjust: "SEV-SNP",
  Rmpupdate: "SEV-SNP", Rmpquery: "SEV-SNP", Serialize: "SERIALIZE", Xsusldtrk: "TSXLDTRK", Xresldtrk: "TSXLDTRK",
  Uiret: "UINTR", Testui: "UINTR", Clui: "UINTR", Stui: "UINTR", Senduipi_r64: "UINTR",
  Wrmsrlist: "MSRLIST", Rdmsrlist: "MSRLIST", Pbndkb: "TSE (PBNDKB)",
};

/** lar/lsl/verr/verw/arpl carry no iced flag at all: they are checked by Code name instead. */
const UNFLAGGED_SENSITIVE = /^(Lar|Lsl|Verr|Verw|Arpl)_/;

const SEGMENT_REGS = new Set([Register.ES, Register.CS, Register.SS, Register.DS, Register.FS, Register.GS]);
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x0f]);

function flagsOf(ins: Instruction, factory: InstructionInfoFactory): string[] {
  const why: string[] = [];
  if (ins.isPrivileged) why.push("privileged");
  const oc = ins.opCode;
  try {
    if (oc.mustBeCpl0) why.push("cpl0");
    if (oc.mayRequireCpl0) why.push("mayCpl0");
    if (oc.isInputOutput) why.push("io");
  } finally {
    oc.free();
  }
  if ((ins.rflagsRead | ins.rflagsModified) & RflagsBits.IF) why.push("IF");
  if (ins.isJmpFar || ins.isCallFar || ins.isJmpFarIndirect || ins.isCallFarIndirect || ins.mnemonic === Mnemonic.Retf) {
    why.push("far");
  }
  if (ins.flowControl === FlowControl.Interrupt) why.push("int");
  for (let i = 0; i < ins.opCount; i++) {
    if (ins.opKind(i) === OpKind.Register && SEGMENT_REGS.has(ins.opRegister(i))) why.push("segOp");
  }
  const info = factory.info(ins);
  try {
    for (const used of info.usedRegisters()) {
      const w = used.access === OpAccess.Write || used.access === OpAccess.ReadWrite || used.access === OpAccess.CondWrite;
      if (w && SEGMENT_REGS.has(used.register)) why.push("segW");
      used.free();
    }
  } finally {
    info.free();
  }
  return why;
}

function* candidates(mode: 32 | 64): Generator<Uint8Array> {
  const opcodes: number[][] = [];
  for (let b = 0; b < 0x100; b++) {
    if (PREFIXES.has(b) || (mode === 64 && (b & 0xf0) === 0x40)) continue;
    opcodes.push([b]);
  }
  for (let b = 0; b < 0x100; b++) if (b !== 0x38 && b !== 0x3a) opcodes.push([0x0f, b]);
  for (let b = 0; b < 0x100; b++) opcodes.push([0x0f, 0x38, b], [0x0f, 0x3a, b]);
  const modrms: number[] = [];
  for (let reg = 0; reg < 8; reg++) {
    modrms.push(reg << 3); // memory form [eax]/[rax]
    for (let rm = 0; rm < 8; rm++) modrms.push(0xc0 | (reg << 3) | rm);
  }
  for (const op of opcodes) {
    for (const prefix of [[], [0x66], [0xf3], [0xf2]]) {
      for (const modrm of modrms) {
        // Trailing zeros feed any displacement/immediate bytes.
        yield new Uint8Array([...prefix, ...op, modrm, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      }
    }
  }
}

for (const mode of [32, 64] as const) {
  test(`${mode}-bit sweep: every flagged one-byte / 0F xx / 0F 38 xx / 0F 3A xx form, prefixed or not, has a catalogue entry`, () => {
    const ins = new Instruction();
    const factory = new InstructionInfoFactory();
    const missing = new Map<string, string>();
    const wrongCode = new Map<string, string>();
    let flaggedForms = 0;
    try {
      for (const bytes of candidates(mode)) {
        const dec = new Decoder(mode, bytes, DecoderOptions.None);
        try {
          dec.decodeOut(ins);
        } finally {
          dec.free();
        }
        if (ins.isInvalid) continue;
        const code = Code[ins.code]!;
        const why = UNFLAGGED_SENSITIVE.test(code) ? ["explicit"] : flagsOf(ins, factory);
        if (why.length === 0 || OUT_OF_SCOPE[code]) continue;
        flaggedForms++;
        const form = formFromBytes(bytes.subarray(0, ins.length), mode);
        const entry = entryForForm(form, mode);
        const hex = Array.from(bytes.subarray(0, ins.length), (b) => b.toString(16).padStart(2, "0")).join(" ");
        if (!entry) missing.set(code, `${hex} [${why.join(" ")}]`);
        else if (!entry.icedCodes.includes(code)) wrongCode.set(code, `${hex} → ${entry.id}`);
      }
    } finally {
      ins.free();
      factory.free();
    }
    assert.ok(flaggedForms > 100, `the sweep should see many flagged forms, saw ${flaggedForms}`);
    assert.deepEqual([...missing].map(([c, d]) => `${c}: ${d}`), [], "flagged forms without a catalogue entry");
    assert.deepEqual([...wrongCode].map(([c, d]) => `${c}: ${d}`), [], "forms matched to an entry that does not list their Code");
  });
}

test("every allow-listed Code exists in iced (no stale names)", () => {
  for (const name of Object.keys(OUT_OF_SCOPE)) {
    assert.equal(typeof (Code as unknown as Record<string, number>)[name], "number", name);
  }
});
