// Ground truth for the later system extensions (xsetbv, xgetbv, xsaves/xrstors, invpcid, wbnoinvd, monitor/mwait,
// clac/stac; fsgsbase in 64-bit code): a kernel-style C file using them in inline asm, compiled with plain gcc
// and with afterburn-cc. truth.ts finds every sensitive instruction from the bytes (objdump + iced-x86); here,
// besides one record per instruction over NOP padding, each site must be the catalogue's padding long and have
// room for the wedge's rewrite.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { paddingFor, roomFor } from "../../../core/isa/index.js";
import { readAnnotationRecords } from "../../../core/toolchain/index.js";
import { checkAfterburnedObject } from "./truth.js";

const root = join(__dirname, "..", "..", "..");
const ccWrapper = join(root, "bin", "afterburn-cc.js");
const CFLAGS = ["-O2", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-nostdlib"];

const COMMON = ["xsetbv", "xgetbv", "xsaves", "xrstors", "invpcid", "wbnoinvd", "monitor", "mwait", "clac", "stac"];
const SOURCE = `
struct invpcid_desc { unsigned long long pcid, addr; };
static char xarea[4096] __attribute__((aligned(64)));

void set_xcr0(unsigned lo, unsigned hi) { __asm__ volatile("xsetbv" :: "a"(lo), "d"(hi), "c"(0)); }
unsigned long long get_xcr0(void) { unsigned lo, hi; __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0)); return ((unsigned long long)hi << 32) | lo; }
void save_state(void) { __asm__ volatile("xsaves %0" : "+m"(xarea) : "a"(-1), "d"(-1)); }
void restore_state(void) { __asm__ volatile("xrstors %0" :: "m"(xarea), "a"(-1), "d"(-1)); }
void flush_pcid(unsigned long type, unsigned long pcid) {
  struct invpcid_desc d = { pcid, 0 };
  __asm__ volatile("invpcid %0, %1" :: "m"(d), "r"(type) : "memory");
}
void writeback(void) { __asm__ volatile("wbnoinvd" ::: "memory"); }
void idle(const void *p) {
  __asm__ volatile("monitor" :: "a"(p), "c"(0), "d"(0));
  __asm__ volatile("mwait" :: "a"(0), "c"(0));
}
void user_access_begin(void) { __asm__ volatile("stac" ::: "memory"); }
void user_access_end(void) { __asm__ volatile("clac" ::: "memory"); }
#ifdef __x86_64__
unsigned long fs_base(void) { unsigned long b; __asm__ volatile("rdfsbase %0" : "=r"(b)); return b; }
unsigned long gs_base(void) { unsigned long b; __asm__ volatile("rdgsbase %0" : "=r"(b)); return b; }
void set_fs_base(unsigned long b) { __asm__ volatile("wrfsbase %0" :: "r"(b)); }
void set_gs_base(unsigned long b) { __asm__ volatile("wrgsbase %0" :: "r"(b)); }
#endif
`;

for (const mode of [32, 64] as const) {
  test(`-m${mode}: each later system instruction has one record over the catalogue's padding, with room for its rewrite`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ab-ext-"));
    try {
      const src = join(dir, "ext.c");
      writeFileSync(src, SOURCE);
      const plain = join(dir, "plain.o");
      const burnt = join(dir, "burnt.o");
      execFileSync("gcc", [`-m${mode}`, ...CFLAGS, "-c", src, "-o", plain]);
      execFileSync(process.execPath, [ccWrapper, `-m${mode}`, ...CFLAGS, "-c", src, "-o", burnt], {
        env: { ...process.env, AFTERBURN_SITES: "1" },
      });
      const sites = JSON.parse(readFileSync(`${burnt}.sites.json`, "utf8")).sites as { id: string; annotated: boolean }[];
      const { elf, burntAll } = await checkAfterburnedObject(plain, burnt, sites, mode);

      const want = mode === 64 ? [...COMMON, "rdfsbase", "rdgsbase", "wrfsbase", "wrgsbase"] : COMMON;
      const found = burntAll.filter((i) => i.entry);
      assert.deepEqual([...new Set(found.map((i) => i.entry!.id))].sort(), [...want].sort(), "every instruction found in the bytes");
      const records = readAnnotationRecords(elf, ".afterburn");
      for (const insn of found) {
        const r = records.find((x) => x.section === insn.section && x.start === insn.offset)!;
        const e = insn.entry!;
        assert.equal(r.end - insn.offset - insn.length, paddingFor(e, mode), `${e.id}: ${insn.text} padded by the catalogue's amount`);
        assert.ok(r.end - r.start >= roomFor(e, mode), `${e.id}: the site (${r.end - r.start} bytes) holds the rewrite (${roomFor(e, mode)})`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
