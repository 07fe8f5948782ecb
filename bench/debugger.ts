// Prints the debug adapter's latencies over DAP on stdio (the bundled dist/debugger.js):
//   instruction step → stopped event   (target ≤ 10 ms)
//   disassemble request, 200 instructions (target ≤ 20 ms)
// on the `interrupts` example guest built with the afterburner. Figures only; never fails on timing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DebugClient } from "@vscode/debugadapter-testsupport";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { buildGuests } from "../test/examples/guests.js";

const ROOT = resolve(__dirname, "..");
const STEPS = 300;
const DISASSEMBLES = 100;

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(2)} ms, p90 ${q(0.9).toFixed(2)} ms, max ${s[s.length - 1].toFixed(2)} ms (n=${s.length})`;
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "pipe" });
  const out = mkdtempSync(join(tmpdir(), "afterburn-dap-bench-"));
  try {
    const { elfs } = await buildGuests(out, { cc: join(ROOT, "bin", "afterburn-cc.js"), jobs: 2 });
    const dc = new DebugClient(process.execPath, join(ROOT, "dist", "debugger.js"), "afterburn", { stdio: "pipe" });
    dc.defaultTimeout = 60_000;
    await dc.start();
    await dc.initializeRequest({ adapterID: "afterburn", pathFormat: "path", linesStartAt1: true, columnsStartAt1: true });
    const initialized = dc.waitForEvent("initialized");
    const launched = dc.launchRequest({ program: elfs.interrupts, stopOnEntry: true } as DebugProtocol.LaunchRequestArguments);
    await initialized;
    const first = dc.waitForEvent("stopped");
    await dc.configurationDoneRequest();
    await launched;
    await first;

    const step: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = performance.now();
      const stopped = dc.waitForEvent("stopped");
      await dc.stepInRequest({ threadId: 1, granularity: "instruction" });
      await stopped;
      step.push(performance.now() - t0);
    }
    const st = await dc.stackTraceRequest({ threadId: 1 });
    const pc = st.body.stackFrames[0].instructionPointerReference!;
    const dis: number[] = [];
    for (let i = 0; i < DISASSEMBLES; i++) {
      const t0 = performance.now();
      const r = await dc.disassembleRequest({ memoryReference: pc, instructionOffset: -100, instructionCount: 200, resolveSymbols: true });
      dis.push(performance.now() - t0);
      if (r.body!.instructions.length !== 200) throw new Error(`disassemble returned ${r.body!.instructions.length} instructions`);
    }
    const back: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      const stopped = dc.waitForEvent("stopped");
      await dc.stepBackRequest({ threadId: 1, granularity: "instruction" });
      await stopped;
      back.push(performance.now() - t0);
    }
    await dc.stop();
    console.log("debug adapter latency over DAP/stdio (interrupts guest, raw backend; figures from this host, possibly under load)");
    console.log(`  instruction step → stopped event:      ${stats(step)}   target ≤ 10 ms`);
    console.log(`  disassemble, 200 instructions:         ${stats(dis)}   target ≤ 20 ms`);
    console.log(`  step back one instruction → stopped:   ${stats(back)}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
