// Test helper: tiny guests written here in assembly, afterburned in-process (core/burn) or left as written, then
// assembled and linked with GNU as/ld at 1 MiB. Their ledgers can be counted by hand.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterburn } from "../../core/burn/afterburn.js";
import assert from "node:assert/strict";
import { loadGuest, WedgeLoadError, type BackendName, type Guest } from "../../wedge/index.js";

export interface Tiny {
  elf: string;
  bytes: Uint8Array;
  /** The .s file as assembled (afterburned when burn). */
  source: string;
}

/** A stack below the EBDA (a plain ELF is entered without one; the wedge's rewrites push and call). */
export const STACK = "\tmovl $0x90000, %esp\n";

/** Exits through the debug-exit port with the value in %eax. */
export const EXIT = "\tmovl $0, %eax\n\toutl %eax, $0xf4\n";

export function buildTiny(dir: string, name: string, text: string, options: { burn?: boolean } = {}): Tiny {
  const source = join(dir, `${name}.s`);
  const body = options.burn === false ? text : afterburn(text, { fileName: source }).output;
  writeFileSync(source, body);
  const obj = join(dir, `${name}.o`);
  const elf = join(dir, `${name}.elf`);
  execFileSync("as", ["--32", "-g", "-o", obj, source]);
  execFileSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", "-e", "_start", "-o", elf, obj]);
  return { elf, bytes: readFileSync(elf), source };
}

export function runTiny(t: Tiny, backend: BackendName): { guest: Guest; console: string; exit: number | undefined; reason: string } {
  let console = "";
  const guest = loadGuest(t.bytes, { backend, fileName: t.elf, onSerial: (s) => (console += s) });
  const r = guest.run({ maxInstructions: 10_000_000 });
  return { guest, console, exit: r.exitCode, reason: r.reason };
}

/** The error loading `bytes` fails with (the test fails if it loads). */
export function loadError(bytes: Uint8Array, backend: BackendName = "xen"): WedgeLoadError {
  try {
    loadGuest(bytes, { backend, fileName: "bad.elf" });
  } catch (e) {
    assert.ok(e instanceof WedgeLoadError, String(e));
    return e;
  }
  assert.fail("the load succeeded");
}
