// Ground truth from tools nobody here wrote: compile a kernel-style corpus with plain gcc and with
// afterburn-cc, disassemble both with objdump, classify every instruction from its bytes (iced-x86 →
// the catalogue's machine identity, not the text path the afterburner uses), and check that each
// sensitive instruction has exactly one .afterburn record covering it and its NOP padding, and that
// no other records exist.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, Decoder, DecoderOptions, Instruction } from "iced-x86";
import { CATALOGUE } from "../../../core/isa/index.js";
import type { CatalogueEntry } from "../../../core/isa/types.js";
import { objdumpDisassemble, readAnnotationRecords, readElf, type DisassemblyRow } from "../../../core/toolchain/index.js";

const root = join(__dirname, "..", "..", "..");
const corpus = join(__dirname, "corpus");
const ccWrapper = join(root, "bin", "afterburn-cc.js");
const CFLAGS = ["-O2", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-nostdlib", "-I", corpus, "-I", join(root, "include")];

const byIcedCode = new Map<string, CatalogueEntry>();
for (const e of CATALOGUE) for (const c of e.icedCodes) byIcedCode.set(c, e);

interface Insn {
  section: string;
  offset: number;
  length: number;
  entry?: CatalogueEntry;
  text: string;
}

function classifyRows(rows: DisassemblyRow[], mode: 32 | 64): Insn[] {
  const ins = new Instruction();
  try {
    return rows.map((r) => {
      const dec = new Decoder(mode, Uint8Array.from(r.bytes), DecoderOptions.None);
      try {
        dec.decodeOut(ins);
        const name = Code[ins.code] as unknown as string;
        return { section: r.section, offset: r.offset, length: r.bytes.length, entry: byIcedCode.get(name), text: r.text };
      } finally {
        dec.free();
      }
    });
  } finally {
    ins.free();
  }
}

function modesOf(file: string): (32 | 64)[] {
  const m = /modes:\s*([\d ]+)/.exec(readFileSync(join(corpus, file), "utf8").split("\n")[0]);
  assert.ok(m, `${file}: first line must say "modes: 32 64" or "modes: 32"`);
  return m[1].trim().split(/\s+/).map((x) => Number(x) as 32 | 64);
}

const files = readdirSync(corpus).filter((f) => f.endsWith(".c") || f.endsWith(".S")).sort();

test("dist bundle of afterburn-cc exists (npm test builds it)", () => {
  assert.ok(existsSync(join(root, "dist", "afterburn-cc.js")), "run `npm run build` first");
});

for (const file of files) {
  for (const mode of modesOf(file)) {
    test(`${file} -m${mode}: one record per sensitive instruction, padding is NOPs, no stray records`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "ab-truth-"));
      try {
        const src = join(corpus, file);
        const plain = join(dir, "plain.o");
        const burnt = join(dir, "burnt.o");
        execFileSync("gcc", [`-m${mode}`, ...CFLAGS, "-c", src, "-o", plain]);
        execFileSync(process.execPath, [ccWrapper, `-m${mode}`, ...CFLAGS, "-c", src, "-o", burnt], {
          env: { ...process.env, AFTERBURN_SITES: "1" },
        });

        const plainInsns = classifyRows(await objdumpDisassemble(plain), mode).filter((i) => i.entry);
        const burntAll = classifyRows(await objdumpDisassemble(burnt), mode);
        const burntInsns = burntAll.filter((i) => i.entry);
        assert.ok(plainInsns.length > 0, "the corpus file has sensitive instructions");

        // Afterburning changes no instruction: the same sensitive instructions in the same order per section.
        const seq = (l: Insn[]) => l.map((i) => `${i.section}:${i.entry!.id}`);
        assert.deepEqual(seq(burntInsns), seq(plainInsns));

        const elf = readElf(readFileSync(burnt), burnt);
        const records = readAnnotationRecords(elf, ".afterburn");
        const sites = JSON.parse(readFileSync(`${burnt}.sites.json`, "utf8")).sites as { id: string; annotated: boolean; padding: number }[];
        // Sites the afterburner reports as deliberately left alone (.afterburn_noannotate): matched by machine form.
        const notAnnotated = sites.filter((s) => !s.annotated).map((s) => CATALOGUE.find((e) => e.id === s.id)!);

        const used = new Set<number>();
        for (const insn of burntInsns) {
          const matching = records.map((r, i) => ({ r, i })).filter(({ r }) => r.section === insn.section && r.start === insn.offset);
          if (matching.length === 0) {
            const k = notAnnotated.findIndex((e) => e.icedCodes.some((c) => insn.entry!.icedCodes.includes(c)));
            assert.ok(k >= 0, `${insn.section}+0x${insn.offset.toString(16)} ${insn.text}: sensitive (${insn.entry!.id}) but no .afterburn record`);
            notAnnotated.splice(k, 1);
            continue;
          }
          assert.equal(matching.length, 1, `${insn.text} at 0x${insn.offset.toString(16)}: ${matching.length} records`);
          const { r, i } = matching[0];
          used.add(i);
          // The record covers the instruction and then only single-byte NOPs.
          const section = elf.section(insn.section)!;
          const bytes = section.data();
          assert.ok(r.end >= insn.offset + insn.length, `${insn.text}: record ends inside the instruction`);
          for (let a = insn.offset + insn.length; a < r.end; a++) {
            assert.equal(bytes[a], 0x90, `${insn.text}: padding byte at +0x${a.toString(16)} is 0x${bytes[a].toString(16)}, not a NOP`);
          }
          assert.ok(r.end - insn.offset - insn.length > 0 || insn.entry!.padding === 0, `${insn.text}: no padding`);
        }
        assert.deepEqual(notAnnotated.map((e) => e.id), [], "sites reported not annotated, yet every instruction carries a record");
        const stray = records.filter((_, i) => !used.has(i));
        assert.deepEqual(stray, [], "records that do not start at a sensitive instruction");

        // Memory-operation annotations land in their own section and cover a store.
        const pte = readAnnotationRecords(elf, ".afterburn.pte_set");
        for (const r of pte) {
          const insn = burntAll.find((i) => i.section === r.section && i.offset === r.start);
          assert.ok(insn && /^mov/.test(insn.text), `.afterburn.pte_set record at ${r.start} does not start at a mov`);
        }
        if (file === "entry.S") assert.equal(pte.length, 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
