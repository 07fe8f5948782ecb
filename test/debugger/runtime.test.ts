// The runtime layer without DAP: a guest from guest-host, GuestRuntime driven directly.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readElf } from "../../core/toolchain/index.js";
import { DebugInfo } from "../../debugger/debug-info.js";
import { openElfGuest } from "../../debugger/guest-host.js";
import { GuestRuntime, type EndInfo, type StopInfo } from "../../debugger/runtime.js";
import { inWedge, type BackendName } from "../../debugger/guest-types.js";
import { loadGuest } from "../examples/guests.js";
import { REP_SLICE } from "../../machine/cpu/string-ops.js";
import { exampleGuests, source } from "./harness.js";

let elfs: Awaited<ReturnType<typeof exampleGuests>>["elfs"];
before(async () => {
  elfs = (await exampleGuests()).elfs;
});

function start(path: string, options: { checkpointInterval?: number; maxInstructions?: number; backend?: BackendName } = {}) {
  const bytes = readFileSync(path);
  let rt: GuestRuntime | undefined;
  let output = "";
  const waiters: ((r: StopInfo | EndInfo) => void)[] = [];
  const guest = openElfGuest(bytes, {
    backend: options.backend ?? "raw",
    fileName: path,
    onSerial: (t) => rt?.serial(t),
    onGuestException: (e, detail) => rt?.guestException(e.vector, e.eip, detail),
  });
  const info = new DebugInfo(readElf(bytes, path));
  rt = new GuestRuntime(guest, info, {
    stopped: (s) => waiters.shift()?.(s),
    ended: (e) => waiters.shift()?.(e),
    output: (t) => (output += t),
    ledger: () => {},
    log: () => {},
  }, options);
  const next = () => new Promise<StopInfo | EndInfo>((r) => waiters.push(r));
  const state = () => ({ count: guest.machine.cpu.instructionCount, eip: guest.machine.cpu.eip >>> 0, regs: Array.from(guest.machine.cpu.regs), time: guest.machine.devices.clock.now() });
  return { rt: rt!, guest, info, next, state, output: () => output };
}

describe("debugger runtime", () => {
  it("the exception filter stops at the same guest address on every backend (xen and l4 run int in a wedge stub)", async () => {
    const seen = new Map<string, string>();
    for (const backend of ["raw", "trap", "vtx", "xen", "l4"] as const) {
      const { rt, next } = start(elfs.interrupts, { backend });
      rt.setExceptionFilters([{ id: "exception", condition: "0x30" }]);
      const p = next();
      rt.continue();
      const stop = (await p) as StopInfo;
      assert.equal(stop.reason, "exception", `${backend}: ${JSON.stringify(stop)}`);
      seen.set(backend, stop.description);
    }
    assert.match(seen.get("raw")!, /int \$0x30 \(vector 48\) at 0x0010/);
    for (const [backend, d] of seen) assert.equal(d, seen.get("raw"), backend);
  });

  it("steps over a site the wedge rewrote into a call (xen, l4): by line, by instruction, and out of the wedge, to the site's end", async () => {
    for (const backend of ["xen", "l4"] as const) {
      /** A runtime stopped at the cpuid site of hello, whose rewrite calls into the wedge. */
      const atSite = async () => {
        const r = start(elfs.hello, { backend });
        const site = r.guest.sites.find((x) => x.catalogueId === "cpuid" && x.rewrite === "call");
        assert.ok(site, `${backend}: hello has a cpuid site rewritten as a call`);
        r.rt.setCodeBreakpoints("instruction", "instruction", [{ id: 1, address: site.start }]);
        const p = r.next();
        r.rt.continue();
        assert.equal((await p).reason, "instruction breakpoint");
        r.rt.setCodeBreakpoints("instruction", "instruction", []);
        return { ...r, site };
      };
      const step = async (r: Awaited<ReturnType<typeof atSite>>, how: () => void) => {
        const p = r.next();
        how();
        const stop = await p;
        assert.equal(stop.reason, "step", `${backend}: ${JSON.stringify(stop)}`);
        return r.state();
      };
      // Over, by instruction and by line: the guest was left running to its end before.
      let r = await atSite();
      assert.equal((await step(r, () => r.rt.stepInstruction(true))).eip, r.site.end, `${backend}: next by instruction`);
      r = await atSite();
      assert.equal((await step(r, () => r.rt.stepLine("over"))).eip, r.site.end, `${backend}: next by line`);
      // Into the wedge one instruction at a time: the hooks are steps of their own, and no guest
      // instruction after the site runs unseen (the one after cpuid loads ESI).
      r = await atSite();
      const before = r.state();
      let now = before;
      for (let n = 0; n < 10 && (inWedge(now.eip) || now.eip === r.site.start); n++) {
        const last = now;
        now = await step(r, () => r.rt.stepInstruction(false));
        assert.ok(now.count - last.count <= 1, `${backend}: one instruction per step`);
      }
      assert.equal(now.eip, r.site.end);
      assert.equal(now.regs[6], before.regs[6], `${backend}: ESI as before the site`);
      // Out of the wedge from its entry point.
      r = await atSite();
      assert.ok(inWedge((await step(r, () => r.rt.stepInstruction(false))).eip));
      assert.equal((await step(r, () => r.rt.stepOut())).eip, r.site.end, `${backend}: step out of the wedge`);
    }
  });

  it("replays deterministically across timer interrupts and halts (reverse continue, then forward again)", async () => {
    const { rt, info, next, state, output } = start(elfs.interrupts);
    const file = source("interrupts/interrupts.c");
    const line = readFileSync(file, "utf8").split("\n").findIndex((l) => l.includes("if (ticks > seen) seen = ticks;")) + 1;
    const bp = info.lineTable!.lineToAddresses(file, line)!;
    rt.setCodeBreakpoints("source", "source", bp.addresses.map((address) => ({ id: 1, address })));
    let p = next();
    rt.continue();
    assert.equal((await p).reason, "breakpoint");
    const first = state();
    p = next();
    rt.continue();
    assert.equal((await p).reason, "breakpoint");
    const second = state();
    assert.ok(second.count > first.count);
    p = next();
    rt.reverseContinue();
    assert.equal((await p).reason, "breakpoint");
    assert.deepEqual(state(), first);
    p = next();
    rt.continue();
    await p;
    assert.deepEqual(state(), second);
    rt.setCodeBreakpoints("source", "source", []);
    p = next();
    rt.continue();
    const end = (await p) as EndInfo;
    assert.equal(end.reason, "exit");
    assert.equal(output(), loadGuest("interrupts").expectedOutput);
  });

  it("travels back over many checkpoints to an instruction executed once, exactly", async () => {
    const { rt, next, state } = start(elfs.paging, { checkpointInterval: 1000, maxInstructions: 20_000 });
    const positions: ReturnType<typeof state>[] = [state()];
    for (let i = 0; i < 2; i++) {
      const p = next();
      rt.stepInstruction(false);
      await p;
      positions.push(state());
    }
    let p = next();
    rt.continue();
    const budget = (await p) as StopInfo;
    assert.equal(budget.reason, "pause");
    assert.match(budget.description, /budget of 20000 instructions/);
    assert.ok(state().count > 10_000, `ran ${state().count} instructions`);
    rt.setCodeBreakpoints("instruction", "instruction", [{ id: 7, address: positions[1].eip }]);
    p = next();
    rt.reverseContinue();
    assert.equal((await p).reason, "instruction breakpoint");
    assert.deepEqual(state(), positions[1]);
    p = next();
    rt.stepBackInstruction();
    await p;
    assert.deepEqual(state(), positions[0]);
    p = next();
    rt.stepBackInstruction();
    assert.match(((await p) as StopInfo).description, /start of the recorded history/);
    assert.deepEqual(state(), positions[0]);
  });

  it("pauses a running guest at a slice boundary", async () => {
    const { rt, next, guest } = start(elfs.apic);
    const p = next();
    rt.continue();
    setTimeout(() => rt.pause(), 5);
    const s = (await p) as StopInfo;
    if ("exitCode" in s) return; // the guest finished before the pause arrived (a very fast host)
    assert.equal(s.reason, "pause");
    assert.ok(guest.machine.cpu.instructionCount > 0);
    assert.equal(rt.running, false);
  });
});

describe("debugger runtime: long rep string instructions", () => {
  // A multiboot ELF whose fourth instruction is a rep stosl longer than the CPU's slice, run
  // backwards so it goes element by element (a forward fill of flat RAM is a bulk page-span path).
  function repGuest(): string {
    const dir = mkdtempSync(join(tmpdir(), "ab-rep-"));
    writeFileSync(
      join(dir, "rep.s"),
      `.section .multiboot, "a"
.align 4
.long 0x1badb002, 0, -0x1badb002
.text
.globl _start
_start:
  mov $${DWORDS}, %ecx
  mov $${0x300000 + 4 * (DWORDS - 1)}, %edi
  std
  rep stosl
  cld
  mov $0xf4, %dx
  out %al, %dx
`,
    );
    execFileSync("as", ["--32", "-o", join(dir, "rep.o"), join(dir, "rep.s")]);
    execFileSync("ld", ["-m", "elf_i386", "-Ttext", "0x100000", "-e", "_start", "-o", join(dir, "rep.elf"), join(dir, "rep.o")]);
    return dir;
  }
  const DWORDS = 3 * REP_SLICE + 17;

  it("a step of one instruction over rep stosl runs it to its end, across its slices", async () => {
    const dir = repGuest();
    const { rt, guest, next } = start(join(dir, "rep.elf")); // reads the file whole
    rmSync(dir, { recursive: true, force: true });
    const cpu = guest.machine.cpu;
    cpu.regs[0] = 0x5a5a5a5a;
    for (let k = 0; k < 3; k++) {
      const p = next();
      rt.stepInstruction(false);
      assert.equal((await p).reason, "step");
    }
    const at = cpu.eip >>> 0;
    assert.equal(cpu.regs[1], DWORDS, "on the rep, ECX loaded");
    const p = next();
    rt.stepInstruction(false);
    assert.equal((await p).reason, "step");
    assert.equal(cpu.eip >>> 0, at + 2, "past the rep stosl");
    assert.equal(cpu.regs[1], 0);
    assert.equal(guest.machine.memory.read32(0x300000) >>> 0, 0x5a5a5a5a);
    assert.equal(guest.machine.memory.read32(0x300000 + 4 * (DWORDS - 1)) >>> 0, 0x5a5a5a5a);
    assert.equal(guest.machine.memory.read32(0x300000 - 4), 0);
  });
});

describe("debugger runtime: breakpoints with several addresses, hit counts and log points", () => {
  /** The addresses of a source line, as the session sets them (one id for them all). */
  const lineAddresses = (info: DebugInfo, rel: string, text: string) => {
    const file = source(rel);
    const line = readFileSync(file, "utf8").split("\n").findIndex((l) => l.includes(text)) + 1;
    return info.lineTable!.lineToAddresses(file, line)!.addresses;
  };

  it("a hit count counts the hits of the breakpoint, not of each of its addresses", async () => {
    // cli() is inlined at several call sites: one breakpoint on its line has an address at each.
    const plain = start(elfs.interrupts);
    const addresses = lineAddresses(plain.info, "lib/x86.h", "static inline void cli(void)");
    assert.ok(addresses.length >= 2, "cli() is inlined in more than one place");
    plain.rt.setCodeBreakpoints("source", "source", addresses.map((address) => ({ id: 1, address })));
    const hits: ReturnType<typeof plain.state>[] = [];
    for (let i = 0; i < 2; i++) {
      const p = plain.next();
      plain.rt.continue();
      assert.equal((await p).reason, "breakpoint");
      hits.push(plain.state());
    }
    assert.notEqual(hits[0].eip, hits[1].eip, "the first two hits are at different call sites");

    const counted = start(elfs.interrupts);
    counted.rt.setCodeBreakpoints("source", "source", addresses.map((address) => ({ id: 1, address, hitCondition: "2" })));
    const p = counted.next();
    counted.rt.continue();
    assert.equal((await p).reason, "breakpoint");
    assert.deepEqual(counted.state(), hits[1], "stopped on the second hit of the breakpoint");
  });

  it("reverse continue does not stop at a log point", async () => {
    const { rt, info, next, state } = start(elfs.interrupts);
    const logged = lineAddresses(info, "interrupts/interrupts.c", "soft_ints++;");
    const stop = lineAddresses(info, "interrupts/interrupts.c", 'kprintf("waited for');
    rt.setCodeBreakpoints("log", "source", logged.map((address) => ({ id: 1, address, logMessage: "soft" })));
    rt.setCodeBreakpoints("stop", "source", stop.map((address) => ({ id: 2, address })));
    let p = next();
    rt.continue();
    assert.deepEqual((await p as StopInfo).breakpointIds, [2]);
    const start0 = rt.historyStart;
    p = next();
    rt.reverseContinue();
    const back = (await p) as StopInfo;
    assert.equal(back.reason, "step", JSON.stringify(back));
    assert.match(back.description, /start of the recorded history/);
    assert.equal(state().count, start0);
  });
});

describe("debugger runtime: software interrupts and the wedge", () => {
  /** A runtime stopped at kmain's `int $0x30` (a site: padded on raw/trap/vtx, a wedge call on xen/l4). */
  async function atInt(backend: BackendName) {
    const r = start(elfs.interrupts, { backend });
    const site = r.guest.sites.find((s) => s.catalogueId === "int" && r.info.functionAt(s.start)?.name === "kmain");
    assert.ok(site, `${backend}: kmain's int $0x30 is a site`);
    r.rt.setCodeBreakpoints("instruction", "instruction", [{ id: 1, address: site.start }]);
    const p = r.next();
    r.rt.continue();
    assert.equal((await p).reason, "instruction breakpoint");
    r.rt.setCodeBreakpoints("instruction", "instruction", []);
    const softInts = () => r.guest.machine.cpu.readLinear(r.info.lookupAny("soft_ints")!.address, 4)[0];
    return { ...r, site, softInts };
  }
  const BACKENDS = ["raw", "trap", "vtx", "xen", "l4"] as const;

  it("a step over int $0x30, by instruction or by line, runs the handler and stops past the int, in kmain, on every backend", async () => {
    for (const backend of BACKENDS) {
      for (const how of ["instruction", "line"] as const) {
        const r = await atInt(backend);
        const line = r.info.lineAt(r.site.start)!.line;
        assert.equal(r.softInts(), 0);
        const p = r.next();
        if (how === "instruction") r.rt.stepInstruction(true);
        else r.rt.stepLine("over");
        const stop = (await p) as StopInfo;
        assert.equal(stop.reason, "step", `${backend} ${how}: ${JSON.stringify(stop)}`);
        const eip = r.state().eip;
        assert.equal(r.info.functionAt(eip)?.name, "kmain", `${backend} ${how}: stopped at ${stop.description}`);
        assert.equal(r.softInts(), 1, `${backend} ${how}: the handler ran`);
        if (how === "instruction") assert.ok(eip > r.site.start && eip <= r.site.end, `${backend}: past the int, at ${stop.description}`);
        else assert.ok(r.info.lineAt(eip)!.line > line, `${backend}: on a later line, at ${stop.description}`);
      }
    }
  });

  it("a step back from past a site's wedge call lands in the guest, where raw's does, not at the wedge's entry", async () => {
    const landed = new Map<string, number>();
    for (const backend of BACKENDS) {
      const r = await atInt(backend);
      let p = r.next();
      r.rt.stepInstruction(true);
      await p;
      p = r.next();
      r.rt.stepBackInstruction();
      const stop = (await p) as StopInfo;
      assert.equal(stop.reason, "step");
      assert.ok(!inWedge(r.state().eip), `${backend}: ${stop.description}`);
      landed.set(backend, r.state().eip);
    }
    for (const [backend, eip] of landed) assert.equal(eip, landed.get("raw"), backend);
  });
});

describe("debugger runtime: breakpoints changed during a step", () => {
  /** _start calls `spin`, a loop of a few thousand instructions, then leaves through the exit port. */
  function spinGuest(): string {
    const dir = mkdtempSync(join(tmpdir(), "ab-spin-"));
    writeFileSync(
      join(dir, "spin.s"),
      `.section .multiboot, "a"
.align 4
.long 0x1badb002, 0, -0x1badb002
.text
.globl _start
_start:
  mov $0x200000, %esp
  call spin
  nop
  mov $0xf4, %dx
  xor %eax, %eax
  out %al, %dx
spin:
  mov $1000, %ecx
1: loop 1b
  ret
`,
    );
    execFileSync("as", ["--32", "-o", join(dir, "spin.o"), join(dir, "spin.s")]);
    execFileSync("ld", ["-m", "elf_i386", "-Ttext", "0x100000", "-e", "_start", "-o", join(dir, "spin.elf"), join(dir, "spin.o")]);
    const elf = readFileSync(join(dir, "spin.elf"));
    rmSync(dir, { recursive: true, force: true });
    const path = join(mkdtempSync(join(tmpdir(), "ab-spin-")), "spin.elf");
    writeFileSync(path, elf);
    return path;
  }

  it("a step over a call still stops at its return when breakpoints are set while it runs", async () => {
    const { rt, next, state } = start(spinGuest());
    let p = next();
    rt.stepInstruction(false); // mov $0x200000, %esp
    await p;
    const call = state();
    p = next();
    rt.stepInstruction(true);
    // As a client's setBreakpoints right behind the step request: served before the guest runs on.
    assert.ok(rt.running);
    rt.setCodeBreakpoints("source:elsewhere.c", "source", []);
    const stop = await p;
    assert.equal(stop.reason, "step", JSON.stringify(stop));
    assert.equal(state().eip, call.eip + 5, "stopped right after the call");
  });
});
