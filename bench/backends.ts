// For each example guest (afterburned with afterburn-cc): instructions and modelled cycles per backend, each
// backend's overhead against raw, and (for information only) the host time the emulated run took.
// Run: npm run bench backends   (or: node --import tsx bench/backends.ts [guest...])
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BACKENDS, loadGuest } from "../wedge/index.js";
import { buildGuestProgram } from "../cli/guest-build.js";

const GUESTS = ["hello", "interrupts", "paging", "tasks", "apic", "holes"];
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : GUESTS;
const root = join(__dirname, "..");
const num = (n: number) => n.toLocaleString("en");

const header = ["guest", "backend", "exit", "instructions", "modelled cycles", "vs raw", "events", "host ms"];
const rows: string[][] = [header];
for (const name of chosen) {
  const elf = buildGuestProgram(join(root, "examples", name));
  const bytes = readFileSync(elf);
  let rawCycles = 0;
  for (const backend of BACKENDS) {
    const guest = loadGuest(bytes, { backend, fileName: elf });
    const t0 = process.hrtime.bigint();
    const r = guest.run({ maxInstructions: 500_000_000 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const rep = guest.report();
    if (backend === "raw") rawCycles = rep.cycles;
    const events = Object.values(rep.events).reduce((a, e) => a + (e?.count ?? 0), 0);
    const over = backend === "raw" ? "—" : `${(((rep.cycles - rawCycles) / rawCycles) * 100).toFixed(0)}%`;
    rows.push([name, backend, r.reason === "exit" ? String(r.exitCode) : r.reason, num(rep.instructions), num(rep.cycles), over, num(events), ms.toFixed(0)]);
  }
}
const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
console.log("\nmodelled cycles = guest instructions × 1 + every ledger event priced by core/isa/costs.ts (P4-era figures; estimates marked there).");
