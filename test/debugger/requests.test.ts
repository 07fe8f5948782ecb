// The adapter's answers to requests a client gets wrong or that used to be answered wrongly:
// launch configurations with nonsense in them, a second launch, disconnect, rejected settings,
// breakpoint ids across launch and restart, scope edits, evaluateNames, memory writes, disassembly
// placeholders, symbol names far from the program, variable paging and breakpoints that could
// never fire. dist/debugger.js over stdio on the example guests, as adapter.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { readElf } from "../../core/toolchain/index.js";
import { DebugInfo } from "../../debugger/debug-info.js";
import { loadGuest } from "../examples/guests.js";
import { adapterSuite, hexOf, lineOf, source, type Client } from "./harness.js";

const suite = adapterSuite();
const client = suite.client;

const HELLO_S = source("hello/hello.S");
const INTERRUPTS_C = source("interrupts/interrupts.c");


/** A started, initialized client (no launch yet). */
async function initialized(): Promise<Client> {
  const c = client();
  await c.dc.start();
  await c.dc.initializeRequest({ adapterID: "afterburn", linesStartAt1: true, columnsStartAt1: true, pathFormat: "path", supportsMemoryReferences: true });
  return c;
}

/** The error message of a request that must fail. */
async function failure(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail("the request succeeded");
}

/**
 * The error message of a launch that must fail. An accepted launch answers only after
 * configurationDone, so its `initialized` event is what says it was accepted.
 */
async function launchFailure(c: Client, args: Record<string, unknown>): Promise<string> {
  // A listener, not waitForEvent: its timer would keep the test process alive after a rejection.
  let onInitialized = () => {};
  const accepted = new Promise<undefined>((resolve) => {
    onInitialized = () => resolve(undefined);
    c.dc.on("initialized", onInitialized);
  });
  const answered = c.dc.launchRequest(args as DebugProtocol.LaunchRequestArguments).then(
    () => undefined,
    (e: Error) => e.message,
  );
  const message = await Promise.race([accepted, answered]);
  c.dc.off("initialized", onInitialized);
  if (message === undefined) assert.fail(`the launch was accepted: ${JSON.stringify(args)}`);
  return message;
}

/** Resolves when the process exits; rejects if it is still there after `ms` (a hang, not a slow exit). */
function exitOf(proc: ChildProcess, ms = 60_000): Promise<number | null> {
  if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the adapter is still running ${ms} ms after disconnect`)), ms);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe("launch configuration", () => {
  it("rejects a bad maxInstructions, memory, args or program with the field and the value", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ maxInstructions: "abc" }, /maxInstructions must be a whole number of instructions.*\(got "abc" \(a string\)\)/],
      [{ maxInstructions: 0.5 }, /maxInstructions .*\(got 0\.5\)/],
      [{ maxInstructions: -5 }, /maxInstructions .*\(got -5\)/],
      [{ maxInstructions: 1e300 }, /maxInstructions .*\(got 1e\+300\)/],
      [{ maxInstructions: null }, /maxInstructions .*\(got null\)/],
      [{ memory: "64" }, /memory must be a whole number of MiB from 2 to 3072 \(got "64" \(a string\)\)/],
      [{ args: "-O2" }, /args must be a list of strings.*\(got "-O2" \(a string\)\)/],
      [{ program: 42 }, /program must be a file path or a non-empty list of file paths \(got 42\)/],
      [{ postPort: "0x80" }, /postPort must be a port number/],
      [{ breakOnTrap: ["trap", "zzz"] }, /breakOnTrap: unknown exception filter 'zzz'/],
    ];
    for (const [args, message] of cases) {
      const c = await initialized();
      const text = await launchFailure(c, { program: suite.elfs().hello, ...args });
      assert.match(text, message, JSON.stringify(args));
      assert.doesNotMatch(text, /Cannot read properties|TypeError|\n\s+at /);
      await c.stop();
    }
  });

  it("takes maxInstructions 0 as no budget: the guest runs to its end", async () => {
    const c = client();
    const { event } = await c.launch({ program: suite.elfs().hello, maxInstructions: 0 });
    assert.equal(event.event, "exited");
    assert.equal(c.output, loadGuest("hello").expectedOutput);
  });

  it("a second launch stops the first guest before the new one runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "afterburn-dap-relaunch-"));
    const chatter = join(dir, "chatter.S");
    // Prints a line now and then, forever: if it kept running its lines would show up later.
    writeFileSync(chatter, "\t.text\n\t.globl _start\n_start:\n\tmovw $0x3f8, %dx\n1:\tmovb $'z', %al\n\toutb %al, %dx\n\tmovb $10, %al\n\toutb %al, %dx\n\tmovl $20000, %ecx\n2:\tloop 2b\n\tjmp 1b\n");
    const c = await initialized();
    const firstOutput = new Promise<void>((resolve) => {
      const on = (e: DebugProtocol.OutputEvent) => {
        if (e.body.category === "stdout" && e.body.output.includes("z")) {
          c.dc.off("output", on);
          resolve();
        }
      };
      c.dc.on("output", on);
    });
    const init1 = c.dc.waitForEvent("initialized");
    const launch1 = c.dc.launchRequest({ program: chatter } as DebugProtocol.LaunchRequestArguments);
    await init1;
    await c.dc.configurationDoneRequest();
    await launch1;
    await firstOutput; // the first guest runs

    const entry = c.next();
    await c.dc.launchRequest({ program: suite.elfs().hello, stopOnEntry: true } as DebugProtocol.LaunchRequestArguments);
    assert.equal((await entry).body.reason, "entry");
    const mark = c.output.length;
    const end = await c.continue();
    assert.equal(end.event, "exited");
    assert.equal(c.output.slice(mark), loadGuest("hello").expectedOutput, "only the new guest printed");
  });
});

describe("session lifecycle and malformed requests", () => {
  it("disconnect ends the adapter process", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const proc = (c.dc as unknown as { _adapterProcess: ChildProcess })._adapterProcess;
    const exited = exitOf(proc);
    await c.dc.disconnectRequest({});
    assert.equal(await exited, 0);
  });

  it("answers restart before launch, null arguments, source and attach with a clear error", async () => {
    const c = await initialized();
    assert.match(await failure(c.dc.restartRequest({})), /nothing to restart yet/);
    assert.match(await launchFailure(c, null as unknown as Record<string, unknown>), /launch: the arguments are missing \(.*\): launch needs the launch configuration/);
    assert.match(await failure(c.dc.customRequest("source", { sourceReference: 5 })), /no sources by reference/);
    assert.match(await failure(c.dc.customRequest("attach", { program: suite.elfs().hello })), /attach is not supported/);
    const init = await failure(c.dc.customRequest("initialize", null));
    assert.match(init, /initialize: the arguments are missing/);
    for (const text of [init]) assert.doesNotMatch(text, /TypeError|Cannot read properties|\n\s+at /);
  });
});

describe("restart that fails", () => {
  it("leaves the guest there was: it still answers and steps, and no terminated event came", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    let terminated = false;
    c.dc.on("terminated", () => (terminated = true));
    const before = await c.top();
    const missing = join(mkdtempSync(join(tmpdir(), "afterburn-dap-restart-")), "missing.elf");
    assert.match(await failure(c.dc.restartRequest({ arguments: { program: missing } } as DebugProtocol.RestartArguments)), /missing\.elf: no such file/);
    assert.deepEqual(await c.top(), before);
    assert.equal(terminated, false);
    const step = await c.act(() => c.dc.stepInRequest({ threadId: 1, granularity: "instruction" }));
    assert.equal(step.body.reason, "step");
    assert.notEqual((await c.top()).instructionPointerReference, before.instructionPointerReference);
    const end = await c.continue();
    assert.equal(end.event, "exited");
    assert.equal(c.output, loadGuest("hello").expectedOutput, "the same guest ran on");
  });

  it("a second launch that fails leaves the first guest too", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    assert.match(await failure(c.dc.launchRequest({ program: suite.elfs().hello, backend: "kvm" } as DebugProtocol.LaunchRequestArguments)), /unknown backend 'kvm'/);
    const end = await c.continue();
    assert.equal(end.event, "exited");
    assert.equal(c.output, loadGuest("hello").expectedOutput);
  });
});

describe("run control while the guest runs", () => {
  it("refuses steps and steps back until a pause; the run goes on and the pause stops it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "afterburn-dap-spin-"));
    const spin = join(dir, "spin.S");
    writeFileSync(spin, "\t.text\n\t.globl _start\n_start:\n\txorl %ecx, %ecx\n1:\tincl %ecx\n\tjmp 1b\n");
    const c = client();
    await c.launch({ program: spin, stopOnEntry: true });
    await c.dc.continueRequest({ threadId: 1 });
    let stops = 0;
    c.dc.on("stopped", () => stops++);
    for (const command of ["next", "stepIn", "stepOut", "stepBack", "reverseContinue"]) {
      assert.match(await failure(c.dc.customRequest(command, { threadId: 1 })), /the guest is running; pause it first/, command);
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(stops, 0, "no step took over the run");
    const first = await c.evaluate("ecx");
    const paused = await c.act(() => c.dc.pauseRequest({ threadId: 1 }));
    assert.equal(paused.body.reason, "pause");
    assert.ok((await c.evaluate("ecx")) >= first, "the loop ran on");
    const step = await c.act(() => c.dc.nextRequest({ threadId: 1 }));
    assert.equal(step.body.reason, "step");
  });
});

describe("exception filters", () => {
  it("a rejected setExceptionBreakpoints is not kept: restart still works", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const text = await failure(c.dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: "exception", condition: "13, bogus" }] }));
    assert.match(text, /'bogus' is not an exception vector/);
    const again = await c.act(() => c.dc.restartRequest({}));
    assert.equal(again.body.reason, "entry");
  });
});

describe("breakpoint ids", () => {
  it("a breakpoint set before launch keeps its id, and a breakpoint event says it is verified now", async () => {
    const c = await initialized();
    const events: DebugProtocol.BreakpointEvent[] = [];
    c.dc.on("breakpoint", (e: DebugProtocol.BreakpointEvent) => events.push(e));
    const set = await c.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: "puts" }] });
    const bp = set.body.breakpoints[0];
    assert.equal(bp.verified, false);
    assert.match(bp.message ?? "", /not loaded yet/);
    const init = c.dc.waitForEvent("initialized");
    const launched = c.dc.launchRequest({ program: suite.elfs().hello } as DebugProtocol.LaunchRequestArguments);
    await init;
    const first = c.next();
    await c.dc.configurationDoneRequest();
    await launched;
    const hit = await first;
    assert.equal(hit.body.reason, "function breakpoint");
    assert.deepEqual(hit.body.hitBreakpointIds, [bp.id]);
    const changed = events.filter((e) => e.body.breakpoint.id === bp.id);
    assert.equal(changed.length, 1);
    assert.equal(changed[0].body.reason, "changed");
    assert.equal(changed[0].body.breakpoint.verified, true);
  });

  it("restart keeps the ids of the breakpoints it sets again", async () => {
    const c = client();
    const line = lineOf(HELLO_S, "movl $msg_cpuid, %esi");
    const { event, breakpoints } = await c.launch({ program: suite.elfs().hello }, { breakpoints: [{ path: HELLO_S, lines: [line] }] });
    const id = breakpoints[0][0].id;
    assert.deepEqual(event.body.hitBreakpointIds, [id]);
    const again = await c.act(() => c.dc.restartRequest({}));
    assert.equal(again.body.reason, "breakpoint");
    assert.deepEqual(again.body.hitBreakpointIds, [id]);
  });
});

describe("variables", () => {
  it("setVariable among the EFLAGS bits takes only EFLAGS bits", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const regs = await c.registers();
    const eax = await c.evaluate("eax");
    const cr0 = await c.evaluate("cr0");
    for (const name of ["eax", "PE", "nonsense"]) {
      const text = await failure(c.dc.setVariableRequest({ variablesReference: regs.eflags.variablesReference, name, value: "0" }));
      assert.match(text, new RegExp(`'${name}' is not a variable of this scope`));
    }
    assert.equal(await c.evaluate("eax"), eax);
    assert.equal(await c.evaluate("cr0"), cr0);
    // and in the registers scope, only its own names (ax is part of eax, not a variable there)
    const scopes = await c.dc.scopesRequest({ frameId: 0 });
    const ref = scopes.body.scopes.find((s) => s.name === "Registers")!.variablesReference;
    assert.match(await failure(c.dc.setVariableRequest({ variablesReference: ref, name: "ax", value: "1" })), /'ax' is not a variable of this scope/);
    // a CR0 bit through its own scope
    const cr0Bits = (await c.registers()).cr0.variablesReference;
    const set = await c.dc.setVariableRequest({ variablesReference: cr0Bits, name: "WP", value: "1" });
    assert.equal(set.body.value, "1");
    assert.equal((await c.evaluate("cr0")) & (1 << 16), 1 << 16);
  });

  it("what setVariable cannot change is marked readOnly, in every scope (the virtual CPU's too); the rest can be set", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, backend: "xen", stopOnEntry: true });
    const scopes = (await c.dc.scopesRequest({ frameId: 0 })).body.scopes;
    assert.ok(scopes.some((s) => s.name === "Virtual CPU"));
    const seen = { readOnly: 0, writable: 0 };
    const visit = async (ref: number, where: string): Promise<void> => {
      for (const v of (await c.dc.variablesRequest({ variablesReference: ref })).body.variables) {
        const value = v.value.split(" ")[0];
        if (v.presentationHint?.attributes?.includes("readOnly")) {
          seen.readOnly++;
          await failure(c.dc.setVariableRequest({ variablesReference: ref, name: v.name, value }));
        } else {
          seen.writable++;
          // (the CPU may force bits: CR0.ET reads back set)
          await c.dc.setVariableRequest({ variablesReference: ref, name: v.name, value }).catch((e: Error) => assert.fail(`${where} ${v.name}: ${e.message}`));
        }
        if (v.variablesReference > 0) await visit(v.variablesReference, `${where} ${v.name}`);
      }
    };
    for (const s of scopes) if (!s.expensive) await visit(s.variablesReference, s.name);
    assert.ok(seen.readOnly > 0 && seen.writable > 0, JSON.stringify(seen));
  });

  it("every evaluateName of the registers and their bits evaluates to the value shown", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const regs = await c.registers();
    const named = Object.values(regs).filter((v) => v.evaluateName);
    for (const r of ["eflags", "cr0", "cr4"]) {
      const bits = await c.dc.variablesRequest({ variablesReference: regs[r].variablesReference });
      named.push(...bits.body.variables);
    }
    assert.ok(named.some((v) => v.evaluateName === "$cr0.pe"));
    for (const v of named) {
      assert.ok(v.evaluateName, `${v.name} has an evaluateName`);
      const value = await c.evaluate(v.evaluateName!);
      const shown = /^0x/.test(v.value) ? parseInt(v.value, 16) : parseInt(v.value, 10);
      assert.equal(value, shown, `${v.name}: ${v.evaluateName}`);
    }
  });

  it("honours filter named and indexed (with start and count) on the descriptor tables", async () => {
    const c = client();
    const line = lineOf(INTERRUPTS_C, `kprintf("int $0x%x: handler ran`);
    await c.launch({ program: suite.elfs().interrupts }, { breakpoints: [{ path: INTERRUPTS_C, lines: [line] }] });
    const scopes = await c.dc.scopesRequest({ frameId: 0 });
    const seg = scopes.body.scopes.find((s) => s.name.startsWith("Segments"))!;
    const vars = (await c.dc.variablesRequest({ variablesReference: seg.variablesReference })).body.variables;
    const idtr = vars.find((v) => v.name === "idtr")!;
    assert.equal(idtr.indexedVariables, 256);
    const named = await c.dc.variablesRequest({ variablesReference: idtr.variablesReference, filter: "named" });
    assert.equal(named.body.variables.length, 0);
    const all = await c.dc.variablesRequest({ variablesReference: idtr.variablesReference, filter: "indexed" });
    assert.equal(all.body.variables.length, 256);
    const chunk = await c.dc.variablesRequest({ variablesReference: idtr.variablesReference, filter: "indexed", start: 48, count: 2 });
    assert.deepEqual(
      chunk.body.variables.map((v) => v.name),
      ["[48] vector 48", "[49] vector 49"],
    );
  });
});

describe("memory writes", () => {
  it("rejects bad base64, writes nothing of a partly unwritable range unless allowPartial, and never reports a write beyond RAM", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true, memory: 2 });
    const read = async (address: number, count: number) =>
      Buffer.from((await c.dc.customRequest("readMemory", { memoryReference: hexOf(address), count })).body.data ?? "", "base64");
    const target = await c.evaluate("msg_hello");
    const before = await read(target, 8);
    assert.match(await failure(c.dc.customRequest("writeMemory", { memoryReference: hexOf(target), data: "!!!not base64" })), /data is not base64/);
    assert.deepEqual(await read(target, 8), before);

    // RAM ends at 2 MiB: two bytes fit, two would fall beyond it
    const edge = 0x200000 - 2;
    const ramBefore = await read(edge, 2);
    const four = Buffer.from([1, 2, 3, 4]).toString("base64");
    assert.match(await failure(c.dc.customRequest("writeMemory", { memoryReference: hexOf(edge), data: four })), /not writable.*nothing was written/);
    assert.deepEqual(await read(edge, 2), ramBefore, "nothing written");
    const partial = await c.dc.customRequest("writeMemory", { memoryReference: hexOf(edge), data: four, allowPartial: true });
    assert.equal(partial.body.bytesWritten, 2);
    assert.deepEqual([...(await read(edge, 2))], [1, 2]);
    assert.match(await failure(c.dc.customRequest("writeMemory", { memoryReference: "0x00300000", data: four })), /not writable/);
  });
});

describe("memory reads", () => {
  it("stop at the end of the 4 GiB address space: what would lie beyond it is unreadable, not address 0; references beyond it are refused", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const low = Buffer.from((await c.dc.customRequest("readMemory", { memoryReference: "0x00000000", count: 16 })).body.data, "base64");
    assert.equal(low.length, 16, "address 0 is readable (paging is off)");
    for (const ref of ["0x100000000", "4294967296", "0x1fffffff0"]) {
      assert.match(await failure(c.dc.customRequest("readMemory", { memoryReference: ref, count: 4 })), /beyond the 4 GiB address space/, ref);
      assert.match(await failure(c.dc.customRequest("writeMemory", { memoryReference: ref, data: "AAAA" })), /beyond the 4 GiB address space/, ref);
    }
    const ib = await c.dc.customRequest("setInstructionBreakpoints", { breakpoints: [{ instructionReference: "0x100100000" }] });
    assert.equal(ib.body.breakpoints[0].verified, false);
    assert.match(ib.body.breakpoints[0].message!, /beyond the 4 GiB address space/);
    const cond = await c.dc.setBreakpointsRequest({ source: { path: HELLO_S }, breakpoints: [{ line: lineOf(HELLO_S, "call puts"), condition: "eax == 0x100000000" }] });
    assert.equal(cond.body.breakpoints[0].verified, false);
    assert.match(cond.body.breakpoints[0].message!, /condition: 0x100000000 does not fit in 32 bits/);
    for (const [ref, offset] of [["0xfffffff0", 0], ["0xffffff00", 0xf0]] as const) {
      const r = await c.dc.customRequest("readMemory", { memoryReference: ref, offset, count: 32 });
      assert.equal(r.body.address, "0xfffffff0");
      assert.equal(Buffer.from(r.body.data ?? "", "base64").length, 16, `${ref}+${offset}`);
      assert.equal(r.body.unreadableBytes, 16, `${ref}+${offset}`);
    }
  });
});

describe("disassembly", () => {
  const addresses = (ins: DebugProtocol.DisassembledInstruction[]) => ins.map((i) => BigInt(i.address));
  const increasing = (a: bigint[]) => a.every((x, i) => i === 0 || x > a[i - 1]);

  it("placeholders before address 0 and before a decodable start have distinct, increasing addresses", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const near0 = (await c.dc.disassembleRequest({ memoryReference: "0x00000002", instructionOffset: -5, instructionCount: 7 })).body!.instructions;
    assert.equal(near0.length, 7);
    assert.ok(increasing(addresses(near0)), near0.map((i) => i.address).join(" "));
    assert.equal(near0.filter((i) => i.address === "0x00000000").length, 1);
    assert.ok(near0.filter((i) => BigInt(i.address) < 0n).every((i) => i.presentationHint === "invalid"));
    assert.equal(near0.findIndex((i) => i.address === "0x00000002"), 5, "the base address stays at its offset");

    const entry = parseInt((await c.top()).instructionPointerReference!, 16);
    for (const offset of [-4, -30, -200]) {
      const ins = (await c.dc.disassembleRequest({ memoryReference: hexOf(entry), instructionOffset: offset, instructionCount: -offset + 3 })).body!.instructions;
      assert.equal(ins.length, -offset + 3);
      assert.ok(increasing(addresses(ins)), `${offset}: ${ins.map((i) => i.address).join(" ")}`);
      assert.equal(ins[-offset].address, hexOf(entry));
    }
    const top = (await c.dc.disassembleRequest({ memoryReference: "0xfffffffc", instructionCount: 8 })).body!.instructions;
    assert.equal(top.length, 8);
    assert.ok(increasing(addresses(top)), top.map((i) => i.address).join(" "));
  });
});

describe("symbols", () => {
  it("addresses outside the program get no symbol: the wedge's frames say wedge", async () => {
    const c = client();
    const outAt = lineOf(HELLO_S, "outb %al, %dx");
    await c.launch({ program: suite.elfs().hello, backend: "xen" }, { breakpoints: [{ path: HELLO_S, lines: [outAt] }] });
    let frames: DebugProtocol.StackFrame[] = [];
    for (let i = 0; i < 4 && !frames.some((f) => f.name.startsWith("wedge: ")); i++) {
      await c.act(() => c.dc.stepInRequest({ threadId: 1, granularity: "instruction" }));
      frames = await c.frames();
    }
    const inWedge = frames.find((f) => parseInt(f.instructionPointerReference ?? "0", 16) >= 0xfc000000 && !f.name.startsWith("wedge: "));
    assert.ok(inWedge, frames.map((f) => f.name).join(" < "));
    assert.equal(inWedge.name, "wedge");
    assert.ok(frames.some((f) => f.name === "puts"), "the guest's frame below the wedge");
    const ev = await c.dc.evaluateRequest({ expression: "0xfc002000", context: "watch" });
    assert.doesNotMatch(ev.body.result, /</, "no symbol named for the wedge's address");
    const dis = await c.dc.disassembleRequest({ memoryReference: "0xfc002000", instructionCount: 1 });
    assert.equal(dis.body!.instructions[0].symbol, "wedge");
  });
});

describe("breakpoints that could never fire", () => {
  it("rejects a bogus data access type, a function breakpoint on data, bad conditions and line 0", async () => {
    const c = client();
    const { breakpoints } = await c.launch({ program: suite.elfs().hello, stopOnEntry: true }, { breakpoints: [{ path: HELLO_S, lines: [0, -5] }] });
    for (const bp of breakpoints[0]) {
      assert.equal(bp.verified, false);
      assert.match(bp.message ?? "", /is not a line/);
    }
    const info = await c.dc.dataBreakpointInfoRequest({ name: "msg_hello" });
    const data = await c.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: "bogus" as DebugProtocol.DataBreakpointAccessType }] });
    assert.equal(data.body.breakpoints[0].verified, false);
    assert.match(data.body.breakpoints[0].message ?? "", /unknown accessType 'bogus'/);

    const fb = await c.dc.setFunctionBreakpointsRequest({
      breakpoints: [{ name: "msg_hello" }, { name: "stack_top" }, { name: "puts", condition: "eax ==" }, { name: "puts", hitCondition: "often" }, { name: "puts", condition: "eax == 1" }],
    });
    const [msg, stack, cond, hit, good] = fb.body.breakpoints;
    assert.equal(msg.verified, false);
    assert.match(msg.message ?? "", /'msg_hello' is a data symbol/);
    assert.equal(stack.verified, false);
    assert.equal(cond.verified, false);
    assert.match(cond.message ?? "", /condition: /);
    assert.equal(hit.verified, false);
    assert.match(hit.message ?? "", /hit condition 'often'/);
    assert.equal(good.verified, true);
    // the same condition on a source breakpoint is rejected the same way
    const putsLine = lineOf(HELLO_S, "puts:") + 1;
    const sb = await c.dc.setBreakpointsRequest({ source: { path: HELLO_S }, breakpoints: [{ line: putsLine, condition: "eax ==" }] });
    assert.equal(sb.body.breakpoints[0].verified, false);
    assert.equal(sb.body.breakpoints[0].message, cond.message);
  });
});

describe("where a breakpoint stops", () => {
  it("on the line it was placed on, also where several lines' rows share its address (a folded prologue)", async () => {
    const elf = suite.elfs().interrupts;
    const info = new DebugInfo(readElf(readFileSync(elf), elf));
    const lines = [lineOf(INTERRUPTS_C, "  soft_ints++;"), lineOf(INTERRUPTS_C, "  ticks++;")];
    // The case at hand: some row of another line sits at a breakpoint's address.
    const shared = lines.some((line) => {
      const at = info.lineTable!.lineToAddresses(INTERRUPTS_C, line)!.addresses;
      return info.lineTable!.rows.some((r) => at.includes(r.address) && r.line !== line);
    });
    assert.ok(shared, "the compiler folded a handler's first line into its entry");
    const c = client();
    const { event, breakpoints } = await c.launch({ program: elf }, { breakpoints: [{ path: INTERRUPTS_C, lines }] });
    assert.deepEqual(breakpoints[0].map((b) => b.line), lines, "placed on the lines asked for");
    let stop = event;
    for (const line of lines) {
      assert.equal(stop.body.reason, "breakpoint");
      const top = await c.top();
      assert.equal(top.line, line, `${stop.body.description}`);
      assert.match(stop.body.description, new RegExp(`interrupts\\.c:${line}\\)`));
      stop = await c.continue();
    }
  });
});
