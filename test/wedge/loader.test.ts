// The loader refuses a bad record and names the site: outside a loaded segment, overlapping another, not a
// catalogued sensitive instruction, padding that is not NOPs, a rewrite that does not fit its room.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGuest, WedgeLoadError, type BackendName } from "../../wedge/index.js";
import { buildTiny, loadError, STACK } from "./tiny.js";

const dir = mkdtempSync(join(tmpdir(), "wedge-loader-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A guest with hand-written .afterburn records (no afterburner: the records say what the test wants). */
function guest(name: string, body: string, records: string): Uint8Array {
  const src = `\t.text\n\t.globl _start\n_start:\n${STACK}${body}\n\thlt\n\t.section .afterburn,"",@progbits\n${records}\n`;
  return buildTiny(dir, name, src, { burn: false }).bytes;
}


const NOPS = (n: number) => Array(n).fill("\tnop").join("\n");

test("a well-formed record loads on every backend", () => {
  const ok = guest("ok", `.Ls1:\tcli\n${NOPS(8)}\n.Le1:`, "\t.long .Ls1, .Le1");
  for (const backend of ["raw", "trap", "vtx", "xen", "l4"] as const) {
    const g = loadGuest(ok, { backend, fileName: "ok.elf" });
    assert.equal(g.sites.length, 1);
    assert.equal(g.sites[0]!.catalogueId, "cli");
    assert.equal(g.sites[0]!.rewrite, backend === "xen" || backend === "l4" ? "inline" : "none");
  }
});

test("a record outside every loaded segment names its address", () => {
  const e = loadError(guest("outside", `.Ls1:\tcli\n${NOPS(8)}\n.Le1:`, "\t.long .Ls1, .Le1\n\t.long 0x5000000, 0x5000009"));
  assert.match(e.message, /^bad\.elf: site at 0x05000000.*not inside a loaded segment/);
  assert.equal(e.site?.address, 0x5000000);
});

test("overlapping records name the later site with symbol+offset and source line", () => {
  const e = loadError(guest("overlap", `.Ls1:\tcli\n${NOPS(8)}\n.Le1:\n\tnop\n`, "\t.long .Ls1, .Le1\n\t.long .Ls1+4, .Le1+1"));
  assert.match(e.message, /site at 0x00100009 \(_start\+0x9, .*overlap\.s:\d+\): .*overlaps the site 0x00100005–0x0010000e/);
  assert.equal(e.site?.symbol, "_start+0x9");
  assert.ok(e.site?.line !== undefined && e.site.file?.endsWith("overlap.s"));
});

test("a record that does not start with a sensitive instruction is refused", () => {
  const e = loadError(guest("plain", `.Ls1:\tmovl %eax, %ebx\n${NOPS(8)}\n.Le1:`, "\t.long .Ls1, .Le1"));
  assert.match(e.message, /_start\+0x5.*`mov %eax,%ebx` is not a sensitive instruction in the catalogue/);
});

test("padding that is not NOPs is refused, naming the byte", () => {
  const e = loadError(guest("padding", `.Ls1:\tcli\n\tnop\n\tincl %eax\n${NOPS(6)}\n.Le1:`, "\t.long .Ls1, .Le1"));
  assert.match(e.message, /padding byte at 0x00100007 \(0x40\) is not a NOP/);
  assert.equal(e.site?.address, 0x100005);
});

test("a rewrite that does not fit its room fails on the pre-virtualized backends only", () => {
  // sti's strict rewrite (test vcpu.pending, call the wedge) needs 23 bytes; this site has 3.
  const bytes = guest("short", `.Ls1:\tsti\n${NOPS(2)}\n.Le1:`, "\t.long .Ls1, .Le1");
  const e = loadError(bytes, "l4");
  assert.match(e.message, /the inline rewrite of `sti` needs 23 bytes, the site has 3/);
  assert.equal(loadGuest(bytes, { backend: "raw" }).sites.length, 1, "raw does not rewrite");
});

test("not an IA-32 executable, or not an ELF at all", () => {
  assert.throws(() => loadGuest(new TextEncoder().encode("not an elf file at all"), { backend: "raw", fileName: "x.bin" }), /x\.bin: not an ELF file/);
  assert.throws(() => loadGuest(new Uint8Array(8), { backend: "bogus" as BackendName }), /unknown backend "bogus"/);
});

test("a guest too big for its RAM says so as a flag, which front ends turn into their own advice", () => {
  const big = guest("big", "\tcli\n\t.fill 0x300000, 1, 0x90", "");
  let e: unknown;
  try {
    loadGuest(big, { backend: "raw", fileName: "big.elf", memoryMiB: 2 });
  } catch (x) {
    e = x;
  }
  assert.ok(e instanceof WedgeLoadError && e.tooLittleMemory, String(e));
  assert.match(e.message, /of RAM$/, "no front end's advice in the wedge's own message");
  assert.equal(loadError(guest("bad", "\tnop", "\t.long 0x12345678, 0x12345679")).tooLittleMemory, false);
});
