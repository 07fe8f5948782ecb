// Sites rewritten = records in the ELF, and every rewritten site decodes (iced-x86) to the intended replacement:
// the catalogue's inline sequence on the vCPU block (cli and pushf also byte for byte as GNU as assembles the
// catalogue's asm32), or `call rel32` into the wedge entry; the rest of the site is NOPs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, Decoder, DecoderOptions, OpKind } from "iced-x86";
import { entryById, VCPU_LAYOUT } from "../../core/isa/index.js";
import { readAnnotationRecords, readElf } from "../../core/toolchain/index.js";
import { loadGuest, VCPU_BASE, WEDGE_ENTRY } from "../../wedge/index.js";
import { assembleSnippets } from "../core/isa/gas.js";
import { buildTiny, EXIT, STACK } from "./tiny.js";

const dir = mkdtempSync(join(tmpdir(), "wedge-rewrite-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const BODY = [
  "cli", "sti", "pushfl", "popfl", "movl %cr0, %eax", "movl %cr3, %ebx", "movl %eax, %cr3", "movl %ds, %ecx",
  "movw %ax, %ds", "movl %edx, %es", "pushl %ds", "popl %es", "pushl %fs", "popl %gs", "lgdt (%eax)", "lidt 4(%esp)",
  "sgdt (%ebx)", "smsw %ax", "str %cx", "lar %ax, %ecx", "hlt", "inb $0x60, %al", "outb %al, %dx", "cpuid",
  "invlpg (%eax)", "int $0x30", "iret", "wbinvd", "movl %eax, %dr7", "ljmp $0x08, $1f", "1:",
];

interface Ins {
  code: string;
  disp?: number;
  target?: number;
}

function decodeAll(bytes: Uint8Array, ip: number): Ins[] {
  const d = new Decoder(32, bytes, DecoderOptions.None);
  d.ip = BigInt(ip);
  const out: Ins[] = [];
  while (d.canDecode) {
    const i = d.decode();
    const ins: Ins = { code: Code[i.code]! };
    for (let n = 0; n < i.opCount; n++) {
      if (i.opKind(n) === OpKind.Memory) ins.disp = Number(BigInt.asUintN(32, i.memoryDisplacement));
      if (i.opKind(n) === OpKind.NearBranch32) ins.target = Number(i.nearBranch32);
    }
    out.push(ins);
    i.free();
  }
  d.free();
  return out;
}

const V = (f: keyof typeof VCPU_LAYOUT, plus = 0) => VCPU_BASE + VCPU_LAYOUT[f] + plus;

test("every record is a site, rewritten in place to the catalogue's replacement", () => {
  const src = `\t.text\n\t.globl _start\n_start:\n${STACK}${BODY.map((l) => (l.endsWith(":") ? l : `\t${l}`)).join("\n")}\n${EXIT}`;
  const t = buildTiny(dir, "all", src);
  const records = readAnnotationRecords(readElf(t.bytes, t.elf));
  for (const backend of ["xen", "l4"] as const) {
    const g = loadGuest(t.bytes, { backend, fileName: t.elf });
    assert.equal(g.sites.length, records.length, "sites rewritten = records");
    assert.deepEqual(g.sites.map((s) => [s.start, s.end]), records.map((r) => [r.start, r.end]).sort((a, b) => a[0]! - b[0]!));
    for (const s of g.sites) {
      const inMemory = g.machine.memory.readBytes(s.start, s.end - s.start);
      assert.deepEqual([...inMemory], [...s.rewritten], `${s.catalogueId}: guest memory holds the rewrite`);
      const ins = decodeAll(s.rewritten, s.start);
      const codes = ins.map((i) => i.code);
      // Everything after the replacement is single-byte NOPs.
      const firstNop = codes.findIndex((c, k) => c === "Nopd" && codes.slice(k).every((x) => x === "Nopd"));
      const repl = firstNop < 0 ? ins : ins.slice(0, firstNop);
      const rc = repl.map((i) => i.code);
      const where = `${s.catalogueId} at 0x${s.start.toString(16)}: ${rc.join(" ")}`;
      switch (s.catalogueId) {
        case "cli":
          assert.deepEqual(rc, ["Pushfd", "And_rm8_imm8", "Popfd"], where);
          assert.equal(repl[1]!.disp, V("flags", 1));
          break;
        case "sti":
          assert.deepEqual(rc, ["Pushfd", "Or_rm8_imm8", "Cmp_rm8_imm8", "Je_rel8_32", "Call_rel32_32", "Popfd"], where);
          assert.deepEqual([repl[1]!.disp, repl[2]!.disp, repl[4]!.target], [V("flags", 1), V("pending"), WEDGE_ENTRY]);
          break;
        case "pushf":
          assert.deepEqual(rc, ["Pushfd", "Pushfd", "Push_r32", "Mov_AL_moffs8", "Xor_r8_rm8", "And_AL_imm8", "Xor_rm8_r8", "Pop_r32", "Popfd"], where);
          assert.equal(repl[3]!.disp, V("flags", 1));
          break;
        case "popf":
          assert.deepEqual(rc, ["Pop_rm32", "Cmp_rm8_imm8", "Je_rel8_32", "Call_rel32_32", "Push_rm32", "Popfd"], where);
          assert.deepEqual([repl[0]!.disp, repl[1]!.disp, repl[3]!.target, repl[4]!.disp], [V("flags"), V("pending"), WEDGE_ENTRY, V("flags")]);
          break;
        case "mov-from-cr0":
        case "mov-from-cr3":
          assert.ok(rc.length === 1 && (rc[0] === "Mov_EAX_moffs32" || rc[0] === "Mov_r32_rm32"), where);
          assert.equal(repl[0]!.disp, V(s.catalogueId === "mov-from-cr0" ? "cr0" : "cr3"));
          break;
        case "mov-from-sreg":
          assert.deepEqual(rc, ["Mov_r32_rm32"], where);
          assert.equal(repl[0]!.disp, V("ds"));
          break;
        case "mov-to-sreg":
          assert.deepEqual(rc, ["Mov_rm16_r16", "Mov_Sreg_r32m16"], where);
          assert.ok(repl[0]!.disp === V("ds") || repl[0]!.disp === V("es"), where);
          break;
        case "push-sreg":
          assert.deepEqual(rc, ["Push_rm32"], where);
          assert.ok(repl[0]!.disp === V("ds") || repl[0]!.disp === V("fs"), where);
          break;
        case "pop-sreg":
          assert.ok(rc.length === 2 && /^Popd_(ES|GS)$/.test(rc[0]!) && rc[1] === "Mov_r32m16_Sreg", where);
          assert.ok(repl[1]!.disp === V("es") || repl[1]!.disp === V("gs"), where);
          break;
        default:
          assert.equal(s.rewrite, "call", where);
          assert.deepEqual(rc, ["Call_rel32_32"], where);
          assert.equal(repl[0]!.target, WEDGE_ENTRY, where);
      }
      const entry = entryById(s.catalogueId);
      if (entry && s.rewrite === "inline") assert.equal(entry.rewrite.kind, "inline", `${s.catalogueId} is inline in the catalogue`);
    }
  }
});

test("cli and pushf are byte for byte what GNU as makes of the catalogue's asm32", () => {
  const t = buildTiny(dir, "two", `\t.text\n\t.globl _start\n_start:\n${STACK}\tcli\n\tpushfl\n${EXIT}`);
  const g = loadGuest(t.bytes, { backend: "xen", fileName: t.elf });
  const subst = (line: string) =>
    line.replace(/@vcpu\.([a-z0-9]+)(\+(\d+))?/, (_, f: keyof typeof VCPU_LAYOUT, __, n) => `0x${V(f, Number(n ?? 0)).toString(16)}`);
  for (const id of ["cli", "pushf"]) {
    const asm = entryById(id)!.rewrite.asm32!.map(subst).join("\n");
    const [expected] = assembleSnippets([asm], 32);
    const site = g.sites.find((s) => s.catalogueId === id)!;
    assert.deepEqual([...site.rewritten.subarray(0, expected!.bytes.length)], [...expected!.bytes], id);
  }
});
