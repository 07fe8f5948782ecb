// Test harness for the debug adapter: the bundled adapter (dist/debugger.js) driven over stdio by
// @vscode/debugadapter-testsupport's DebugClient, and the example guests built with the
// afterburner into a temporary directory (once per test process).
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DebugClient } from "@vscode/debugadapter-testsupport";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { buildGuests, EXAMPLES_DIR, type BuildResult } from "../examples/guests.js";

export const ROOT = resolve(__dirname, "..", "..");
export const ADAPTER = join(ROOT, "dist", "debugger.js");

let built: Promise<BuildResult> | undefined;

/** The example guests built with afterburn-cc into a temporary directory (once per process). */
export function exampleGuests(): Promise<BuildResult> {
  built ??= buildGuests(mkdtempSync(join(tmpdir(), "afterburn-dap-test-")), { cc: join(ROOT, "bin", "afterburn-cc.js"), jobs: 2 });
  return built;
}

/** Bundles (dist/) rebuilt from this tree (the adapter under test), then the example guests. */
export async function guests(): Promise<BuildResult> {
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "pipe" });
  return exampleGuests();
}

export const source = (rel: string) => join(EXAMPLES_DIR, rel);

/** A DebugClient with helpers that never miss an event (waits are armed before the request). */
export class Client {
  readonly dc: DebugClient;
  output = "";
  readonly ledger: DebugProtocol.Event[] = [];
  readonly reports: DebugProtocol.Event[] = [];

  constructor() {
    this.dc = new DebugClient(process.execPath, ADAPTER, "afterburn", { stdio: "pipe" });
    this.dc.defaultTimeout = 60_000;
    this.dc.setMaxListeners(1000);
    this.dc.on("output", (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === "stdout") this.output += e.body.output;
    });
    this.dc.on("afterburnLedger", (e: DebugProtocol.Event) => this.ledger.push(e));
    this.dc.on("afterburnReport", (e: DebugProtocol.Event) => this.reports.push(e));
  }

  /**
   * initialize → launch → (initialized) configuration → configurationDone; resolves with the
   * first stopped or exited event.
   */
  async launch(
    args: Record<string, unknown>,
    config: {
      breakpoints?: { path: string; lines: number[]; conditions?: (string | undefined)[]; hitConditions?: (string | undefined)[] }[];
      functions?: string[];
      filters?: DebugProtocol.ExceptionFilterOptions[];
    } = {},
  ): Promise<{ event: DebugProtocol.Event; breakpoints: DebugProtocol.Breakpoint[][] }> {
    await this.dc.start();
    await this.dc.initializeRequest({ adapterID: "afterburn", linesStartAt1: true, columnsStartAt1: true, pathFormat: "path", supportsMemoryReferences: true });
    const initialized = this.dc.waitForEvent("initialized");
    const launched = this.dc.launchRequest(args as DebugProtocol.LaunchRequestArguments);
    await initialized;
    const bps: DebugProtocol.Breakpoint[][] = [];
    for (const b of config.breakpoints ?? []) {
      const r = await this.dc.setBreakpointsRequest({
        source: { path: b.path },
        breakpoints: b.lines.map((line, i) => ({ line, condition: b.conditions?.[i], hitCondition: b.hitConditions?.[i] })),
      });
      bps.push(r.body.breakpoints);
    }
    if (config.functions) await this.dc.setFunctionBreakpointsRequest({ breakpoints: config.functions.map((name) => ({ name })) });
    await this.dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: config.filters ?? [] });
    const first = this.next();
    await this.dc.configurationDoneRequest();
    await launched;
    return { event: await first, breakpoints: bps };
  }

  /**
   * The next stopped or exited event. One listener for both, gone with its timer once either comes:
   * racing two waitForEvent calls left the loser's 60-second timer keeping the test process alive.
   */
  next(timeout = 60_000): Promise<DebugProtocol.Event> {
    return new Promise((resolve, reject) => {
      const done = (e: DebugProtocol.Event) => {
        clearTimeout(timer);
        this.dc.off("stopped", done);
        this.dc.off("exited", done);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.dc.off("stopped", done);
        this.dc.off("exited", done);
        reject(new Error(`no stopped or exited event after ${timeout} ms`));
      }, timeout);
      this.dc.on("stopped", done);
      this.dc.on("exited", done);
    });
  }

  async act(request: () => Promise<unknown>): Promise<DebugProtocol.Event> {
    const ev = this.next();
    await request();
    return ev;
  }

  continue(): Promise<DebugProtocol.Event> {
    return this.act(() => this.dc.continueRequest({ threadId: 1 }));
  }

  async top(): Promise<DebugProtocol.StackFrame> {
    const st = await this.dc.stackTraceRequest({ threadId: 1 });
    return st.body.stackFrames[0];
  }

  async frames(): Promise<DebugProtocol.StackFrame[]> {
    return (await this.dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  }

  async registers(): Promise<Record<string, DebugProtocol.Variable>> {
    const scopes = await this.dc.scopesRequest({ frameId: 0 });
    const regs = scopes.body.scopes.find((s) => s.name === "Registers")!;
    const vars = await this.dc.variablesRequest({ variablesReference: regs.variablesReference });
    return Object.fromEntries(vars.body.variables.map((v) => [v.name, v]));
  }

  async evaluate(expression: string): Promise<number> {
    const r = await this.dc.evaluateRequest({ expression, context: "watch" });
    return parseInt(r.body.result, 16);
  }

  /**
   * Disconnects, and kills the adapter if it has not gone within a few seconds: an adapter stuck in
   * a failing test must not outlive the test process (one once spun for an hour, slowing every
   * later run on the machine).
   */
  async stop(): Promise<void> {
    const adapter = (this.dc as unknown as { _adapterProcess?: ChildProcess | null })._adapterProcess;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.dc.stop(), new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    if (adapter && adapter.exitCode === null && adapter.signalCode === null) adapter.kill("SIGKILL");
  }
}

export const hexOf = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** The first line of `file` containing `text` (1-based). */
export function lineOf(file: string, text: string): number {
  const i = readFileSync(file, "utf8").split("\n").findIndex((l) => l.includes(text));
  assert.ok(i >= 0, `${text} not in ${file}`);
  return i + 1;
}

/**
 * For a test file: the example guests built once before its tests, and adapter clients that are
 * stopped after them. `elfs()` is valid inside the tests.
 */
export function adapterSuite(): { elfs: () => Awaited<ReturnType<typeof guests>>["elfs"]; client: () => Client } {
  let built: Awaited<ReturnType<typeof guests>>["elfs"] | undefined;
  const clients: Client[] = [];
  before(async () => {
    built = (await guests()).elfs;
  });
  after(async () => {
    for (const c of clients) await c.stop().catch(() => {});
  });
  return {
    elfs: () => built!,
    client: () => {
      const c = new Client();
      clients.push(c);
      return c;
    },
  };
}
