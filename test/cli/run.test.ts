// The README's main job: build the example guests with CC=afterburn-cc (afterburned), then boot
// each on the bundled PC with `afterburn run`, comparing its console and exit status with the
// expected ones (the same files QEMU is checked against).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAnnotationRecords, readElf } from "../../core/toolchain/index.js";
import { buildGuests, elfPath, loadGuests } from "../examples/guests.js";
import { readerGoesAway, toFullDisk } from "./stdio-helpers.js";

const root = join(__dirname, "..", "..");
const afterburn = join(root, "bin", "afterburn.js");
const out = mkdtempSync(join(tmpdir(), "ab-run-"));
test.after(() => rmSync(out, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [afterburn, "run", ...args], { encoding: "utf8", timeout: 120_000, env });
}

/** A plain (not afterburned) guest at 1 MiB from GNU as text; returns the ELF's path. */
function asmGuest(dir: string, name: string, body: string): string {
  const s = join(dir, `${name}.s`);
  writeFileSync(s, `\t.globl _start\n_start:\n\tmovl $0x90000, %esp\n${body}\n\thlt\n`);
  spawnSync("as", ["--32", s, "-o", join(dir, `${name}.o`)]);
  spawnSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", join(dir, `${name}.o`), "-o", join(dir, `${name}.elf`)]);
  return join(dir, `${name}.elf`);
}

/** A copy of an ELF with p_memsz of its executable PT_LOAD replaced. */
function withCodeMemsz(elf: string, memsz: number, copy: string): string {
  const b = readFileSync(elf);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const phoff = v.getUint32(28, true);
  for (let i = 0; i < v.getUint16(44, true); i++) {
    const ph = phoff + i * v.getUint16(42, true);
    if (v.getUint32(ph, true) === 1 && v.getUint32(ph + 24, true) & 1) v.setUint32(ph + 20, memsz, true);
  }
  writeFileSync(copy, b);
  return copy;
}

test("every example builds with CC=afterburn-cc, carries .afterburn records, and runs to its expected output", async () => {
  await buildGuests(out, { cc: join(root, "bin", "afterburn-cc.js") });
  for (const g of loadGuests()) {
    const elf = elfPath(out, g.name);
    const records = readAnnotationRecords(readElf(readFileSync(elf), elf));
    assert.ok(records.length > 0, `${g.name}: no .afterburn records`);
    const r = run([elf]);
    assert.equal(r.stdout, g.expectedOutput, `${g.name}: console differs\n${r.stderr}`);
    assert.equal(r.status, g.expectedExit, `${g.name}: exit status\n${r.stderr}`);
    assert.match(r.stderr, /guest exited with status \d+; [\d,]+ instructions/);
  }
});

test("runs are deterministic, --json reports the same run (schema afterburn-run version 2)", async () => {
  const elf = elfPath(out, "interrupts");
  const a = JSON.parse(run([elf, "--json"]).stdout);
  const b = JSON.parse(run([elf, "--json"]).stdout);
  assert.equal(a.schema, "afterburn-run");
  assert.equal(a.version, 2);
  assert.equal(a.runs.length, 1);
  assert.equal(a.runs[0].backend, "raw");
  assert.equal(a.runs[0].result.reason, "exit");
  assert.equal(a.runs[0].result.instructions, b.runs[0].result.instructions);
  assert.equal(a.runs[0].console, b.runs[0].console);
  assert.equal(a.runs[0].ledger.schema, "afterburn-ledger");
});

test("--backend all --json: the same console on raw, vtx, xen and l4, a ledger and the overhead vs raw per backend", () => {
  const g = loadGuests().find((x) => x.name === "interrupts")!;
  const r = run([elfPath(out, "interrupts"), "--backend", "all", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.runs.map((x: { backend: string }) => x.backend), ["raw", "trap", "vtx", "xen", "l4"]);
  for (const x of doc.runs) {
    assert.equal(x.ledger.backend, x.backend);
    assert.equal(x.ledger.version, 1);
    if (x.backend !== "trap") assert.equal(x.console, g.expectedOutput, x.backend);
    if (x.backend === "raw") assert.equal(x.overheadVsRaw, undefined);
    else assert.ok(x.overheadVsRaw > 0, `${x.backend} costs more than raw`);
  }
  const xen = doc.runs.find((x: { backend: string }) => x.backend === "xen");
  assert.ok(xen.ledger.events.hypercall.count > 0 && xen.ledger.events.inline.count > 0);
  assert.ok(xen.ledger.sites[0].file.endsWith(".S") || xen.ledger.sites[0].file.endsWith(".h") || xen.ledger.sites[0].file.endsWith(".c"));
  const vtx = doc.runs.find((x: { backend: string }) => x.backend === "vtx");
  assert.ok(vtx.ledger.events["vm-exit"].count > 0);
});

test("run builds guest sources itself: an examples-style directory on every backend, side by side", () => {
  const g = loadGuests().find((x) => x.name === "hello")!;
  const r = run([join(root, "examples", "hello"), "--backend", "all"]);
  assert.equal(r.status, g.expectedExit, r.stderr);
  assert.equal(r.stdout, g.expectedOutput, "the console once (the raw run streams it)");
  assert.match(r.stderr, /raw\s+trap\s+vtx\s+xen\s+l4/);
  assert.match(r.stderr, /console\s+reference\s+same\s+same\s+same\s+same/);
  assert.match(r.stderr, /vs raw\s+—\s+\+[\d.]+%/);
  const x = run([join(root, "examples", "hello", "hello.S"), "--backend", "xen"]);
  assert.equal(x.stdout, g.expectedOutput);
  assert.match(x.stderr, /ledger \(xen\): [\d,]+ modelled cycles/);
  assert.match(x.stderr, /top sites:\n\s+0x[0-9a-f]{8} out-\w+ .*hello\.S:\d+/);
});

test("a guest that never stops ends at --max-instructions with status 124; bad input is named", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-bad-"));
  try {
    const loop = join(dir, "loop.s");
    writeFileSync(loop, ".globl _start\n_start: jmp _start\n");
    spawnSync("as", ["--32", loop, "-o", join(dir, "loop.o")]);
    spawnSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", join(dir, "loop.o"), "-o", join(dir, "loop.elf")]);
    const r = run([join(dir, "loop.elf"), "--max-instructions", "100000"]);
    assert.equal(r.status, 124, r.stderr);
    assert.match(r.stderr, /100,000 instructions/);
    const x = run([join(dir, "loop.elf"), "--max-instructions", "100000", "--backend", "xen"]);
    assert.equal(x.status, 124, x.stderr);
    writeFileSync(join(dir, "garbage.elf"), "this is not an ELF file at all");
    const g = run([join(dir, "garbage.elf")]);
    assert.equal(g.status, 3);
    assert.match(g.stderr, /garbage\.elf: neither an ELF file nor a guest source/);
    const u = run([join(dir, "loop.elf"), "--backend", "kvm"]);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown backend 'kvm'/);
    const v = run([join(dir, "loop.elf"), "--backend", "vtx", "--vtx", "bogus=on"]);
    assert.equal(v.status, 2);
    assert.match(v.stderr, /unknown VT-x control 'bogus'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a build from sources follows the headers it includes: editing one rebuilds, an unchanged one reuses the build", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-headers-"));
  try {
    // A private TMPDIR: the build cache lives there, so no earlier run's cache is in play.
    const env = { ...process.env, TMPDIR: join(dir, "tmp") };
    mkdirSync(env.TMPDIR);
    const guest = join(dir, "dir with space");
    mkdirSync(guest);
    writeFileSync(join(guest, "cfg.h"), '#define MSG "version ONE\\n"\n');
    writeFileSync(join(guest, "main.c"), '#include "guest.h"\n#include "cfg.h"\nuint32_t kmain(uint32_t m, uint32_t i) { (void)m; (void)i; kprintf(MSG); return 0; }\n');
    const first = run([guest], env);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, "version ONE\n");
    const again = run([guest], env);
    assert.equal(again.stdout, "version ONE\n");
    assert.doesNotMatch(again.stderr, /building/, "nothing changed: the cached build runs");
    writeFileSync(join(guest, "cfg.h"), '#define MSG "version TWO\\n"\n');
    const edited = run([guest], env);
    assert.equal(edited.status, 0, edited.stderr);
    assert.match(edited.stderr, /building/);
    assert.equal(edited.stdout, "version TWO\n", "the edited header is compiled in");
    // A header reached by a relative path outside the guest's folder counts too.
    mkdirSync(join(dir, "shared"));
    writeFileSync(join(dir, "shared", "tail.h"), '#define TAIL "a"\n');
    writeFileSync(join(guest, "cfg.h"), '#include "../shared/tail.h"\n#define MSG "version " TAIL "\\n"\n');
    assert.equal(run([guest], env).stdout, "version a\n");
    writeFileSync(join(dir, "shared", "tail.h"), '#define TAIL "b"\n');
    assert.equal(run([guest], env).stdout, "version b\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--rom with an empty or oversized image: a clear error naming the file and the allowed size, status 3", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-rom-"));
  try {
    const empty = join(dir, "empty.bin");
    writeFileSync(empty, "");
    const huge = join(dir, "huge.bin");
    writeFileSync(huge, "");
    truncateSync(huge, 20_000_000);
    for (const [file, size] of [[empty, "0"], [huge, "20,000,000"]] as const) {
      const r = run(["--rom", file]);
      assert.equal(r.status, 3, r.stderr);
      assert.equal(r.stderr, `afterburn: ${file}: a ROM image of ${size} bytes; --rom takes 1 byte to 16 MiB (16,777,216 bytes), mapped to end at 4 GiB\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a guest-requested reset has its own status (123); the exit port's value is kept & 0xff, as documented", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-status-"));
  try {
    const reset = run([asmGuest(dir, "reset", "\tmovb $0xfe, %al\n\toutb %al, $0x64\n1:\tjmp 1b"), "--json"]);
    assert.equal(reset.status, 123, reset.stderr);
    assert.equal(JSON.parse(reset.stdout).runs[0].result.reason, "reset");
    const wide = run([asmGuest(dir, "wide", "\tmovl $0x1234, %eax\n\toutl %eax, $0xf4"), "--json"]);
    assert.equal(wide.status, 0x34);
    assert.equal(JSON.parse(wide.stdout).runs[0].result.exitCode, 0x34);
    const doc = readFileSync(join(root, "docs", "run-json.md"), "utf8");
    assert.match(doc, /"exitCode".*V & 0xff/i, "docs/run-json.md says exitCode is V & 0xff");
    const readme = readFileSync(join(root, "README.md"), "utf8");
    assert.match(readme, /123 \(the guest reset the\s+machine/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--backend lists run once each in the documented order; several backends exit nonzero when any backend does", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-order-"));
  try {
    const ok = asmGuest(dir, "ok", "\tmovl $0, %eax\n\toutl %eax, $0xf4");
    const r = run([ok, "--backend", "l4,raw,raw", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).runs.map((x: { backend: string }) => x.backend), ["raw", "l4"]);
    // pushf after cli: bare metal shows IF=0; trap-and-emulate's pushf shows IF=1 (a hole), so this exits 1 there.
    const hole = asmGuest(dir, "hole", "\tcli\n\tpushf\n\tpopl %eax\n\tshrl $9, %eax\n\tandl $1, %eax\n\toutl %eax, $0xf4");
    const all = run([hole, "--backend", "all", "--json"]);
    const statuses = JSON.parse(all.stdout).runs.map((x: { backend: string; result: { exitCode: number } }) => [x.backend, x.result.exitCode]);
    assert.deepEqual(statuses[0], ["raw", 0]);
    assert.deepEqual(statuses[1], ["trap", 1]);
    assert.equal(all.status, 1, "raw exits 0 but trap does not");
    assert.equal(run([hole, "--backend", "raw,vtx"]).status, 0, "both exit 0");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("unusable kernels: a wild entry point, a segment past 4 GiB or larger than RAM are load errors (status 3), hint once", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-load-"));
  try {
    const ok = asmGuest(dir, "ok", "\tmovl $0, %eax\n\toutl %eax, $0xf4");
    spawnSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", "-e", "0x5000000", join(dir, "ok.o"), "-o", join(dir, "wild.elf")]);
    const wild = run([join(dir, "wild.elf")]);
    assert.equal(wild.status, 3, wild.stderr);
    assert.match(wild.stderr, /wild\.elf: entry point \(e_entry\) 0x05000000 is not inside any loaded segment/);
    const huge = run([withCodeMemsz(ok, 0xfffff000, join(dir, "huge.elf"))]);
    assert.equal(huge.status, 3);
    assert.match(huge.stderr, /huge\.elf: segment at physical 0x00100000–0x1000ff000 \(p_memsz 0xfffff000\) ends past 4 GiB\n$/);
    const big = run([withCodeMemsz(ok, 0x10000000, join(dir, "big.elf"))]);
    assert.equal(big.status, 3);
    assert.match(big.stderr, /big\.elf: segment 0x00100000–0x10100000 does not fit in 256 MiB of RAM \(give the guest more memory: --memory MiB, at most 3072\)\n$/);
    assert.equal(big.stderr.match(/memory/g)?.length, 2, "one hint");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A guest that writes 200,000 bytes on COM1 (more than a pipe holds: 64 KiB), then exits 0. */
function chattyGuest(dir: string): string {
  return asmGuest(dir, "chatty", "\tmovl $100000, %ecx\n\tmovw $0x3f8, %dx\n1:\tmovb $0x78, %al\n\toutb %al, %dx\n\tmovb $10, %al\n\toutb %al, %dx\n\tloop 1b\n\tmovl $0, %eax\n\toutl %eax, $0xf4");
}

test("a console larger than a pipe holds reaches a parent reading through a non-blocking pipe (spawnSync's)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-pipe-"));
  try {
    const r = run([chattyGuest(dir)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "x\n".repeat(100_000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a console reader that goes away (| head) ends the run there, quietly, with 141; a full disk is status 3 naming stdout", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-pipe-"));
  try {
    const chatty = chattyGuest(dir);
    for (const backends of ["raw", "all"]) {
      const r = await readerGoesAway(afterburn, ["run", chatty, "--backend", backends], "stdout");
      assert.equal(r.status, 141, `--backend ${backends}: ${r.other}`);
      // Not a word: no EPIPE, and no report of a run that went on (an "emulator error", the other backends).
      assert.equal(r.other, "", `--backend ${backends}`);
    }
    for (const args of [[chatty], [chatty, "--backend", "all"], [chatty, "--json"]]) {
      const f = toFullDisk(afterburn, ["run", ...args]);
      assert.equal(f.status, 3, `${args.join(" ")}: ${f.stderr}`);
      assert.equal(f.stderr, "afterburn: standard output: cannot write: ENOSPC\n", args.join(" "));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a kernel whose sensitive instructions ran without .afterburn records gets one warning naming it; an afterburned one, or one with none, does not", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-norec-"));
  try {
    const body = "\tmovw $0x3f8, %dx\n\tmovb $65, %al\n\toutb %al, %dx\n\tcli";
    const plain = asmGuest(dir, "plain", body);
    const r = run([plain, "--backend", "xen,l4", "--max-instructions", "10000"]);
    const warnings = r.stderr.split("\n").filter((l) => l.includes("warning"));
    assert.deepEqual(warnings, [`afterburn: warning: ${plain} has no .afterburn records, and 3 sensitive instructions ran as written (missed sites): it was built without afterburn-cc, or its link dropped the records (--gc-sections, a /DISCARD/)`], r.stderr);
    // The same source afterburned: records, no warning.
    const src = join(dir, "burnt.s");
    writeFileSync(src, `\t.globl _start\n_start:\n\tmovl $0x90000, %esp\n${body}\n\thlt\n`);
    const burnt = spawnSync(process.execPath, [afterburn, "burn", src, "-o", join(dir, "burnt.ab.s")], { encoding: "utf8" });
    assert.equal(burnt.status, 0, burnt.stderr);
    spawnSync("as", ["--32", join(dir, "burnt.ab.s"), "-o", join(dir, "burnt.o")]);
    spawnSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", join(dir, "burnt.o"), "-o", join(dir, "burnt.elf")]);
    assert.doesNotMatch(run([join(dir, "burnt.elf"), "--backend", "xen", "--max-instructions", "10000"]).stderr, /warning/);
    // No sensitive instruction ran: nothing to say.
    writeFileSync(join(dir, "spin.s"), ".globl _start\n_start: jmp _start\n");
    spawnSync("as", ["--32", join(dir, "spin.s"), "-o", join(dir, "spin.o")]);
    spawnSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", join(dir, "spin.o"), "-o", join(dir, "spin.elf")]);
    assert.doesNotMatch(run([join(dir, "spin.elf"), "--backend", "xen", "--max-instructions", "1000"]).stderr, /warning/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
