// The DAP session: translates Debug Adapter Protocol requests into runtime calls and runtime
// happenings into DAP events. Contract B (launch attributes, exception filters, custom events
// and requests) is implemented here; nothing here is VS Code-specific.

import { basename } from "node:path";
import {
  Breakpoint,
  ExitedEvent,
  InitializedEvent,
  InvalidatedEvent,
  LoggingDebugSession,
  MemoryEvent,
  OutputEvent,
  Scope,
  Source,
  StackFrame,
  StoppedEvent,
  TerminatedEvent,
  Thread,
  Event,
} from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { DebugInfo } from "./debug-info.js";
import { openElfGuest, openRomGuest, GuestLoadError } from "./guest-host.js";
import { BACKEND_NAMES, type BackendName, type DebugGuest, type LedgerEvent } from "./guest-types.js";
import { obtainProgram, ProgramError, type Program } from "./program.js";
import { EXCEPTION_FILTERS, GuestRuntime, type DataAccess, type ExceptionFilterId, type StopInfo, type EndInfo } from "./runtime.js";
import { readElf } from "../core/toolchain/index.js";
import {
  CR0_BITS,
  CR4_BITS,
  EFLAGS_BITS,
  GENERAL,
  SEGMENTS,
  bitNames,
  descriptorTable,
  hex4,
  hex8,
  readRegister,
  walkStack,
  writeRegister,
  type Bit,
} from "./cpu-view.js";
import { decodeAt, disassembleBytes, hexBytes } from "./disasm.js";
import { argumentProblem } from "./request-shape.js";

/** Launch configuration of type "afterburn" (contract B). */
export interface AfterburnLaunchArguments extends DebugProtocol.LaunchRequestArguments {
  /** ELF kernel, or guest source file(s) to build with the afterburner. */
  program?: string | string[];
  backend?: BackendName;
  stopOnEntry?: boolean;
  /** Guest RAM in MiB. */
  memory?: number;
  /** Virtual-time budget of a run; when spent the guest pauses (continue grants another). */
  maxInstructions?: number;
  /** Boot a firmware image at F000:FFF0 instead of an ELF (raw backend). */
  rom?: string;
  /** Ports whose writes are shown as POST codes. */
  postPort?: number | number[];
  /** VT-x execution controls by name, for the vtx backend (e.g. { "hltExiting": false }). */
  vtx?: Record<string, boolean>;
  cmdline?: string;
  /** Extra build arguments when `program` is sources. */
  args?: string[];
  /** Exception filters to enable from the start (ids as in the Breakpoints view). */
  breakOnTrap?: boolean | ExceptionFilterId[];
  cwd?: string;
  /** Emit the adapter's protocol log (LoggingDebugSession) to the console. */
  trace?: boolean;
}

const THREAD_ID = 1;
const LEDGER_EVENT_INTERVAL_MS = 100;
/** Instructions one disassemble request may ask for, and how far from its address it may start. */
const MAX_DISASSEMBLY = 10_000;

type VarProvider = { list(): DebugProtocol.Variable[]; set?(name: string, value: string): string };

function parseAddress(ref: string): number {
  const t = ref.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n)) throw new Error(`'${ref}' is not a memory reference (expected an address such as 0x100000)`);
  return n >>> 0;
}

export class AfterburnSession extends LoggingDebugSession {
  private runtime: GuestRuntime | undefined;
  private guest: DebugGuest | undefined;
  private info: DebugInfo | undefined;
  private program: Program | undefined;
  private launchArgs: AfterburnLaunchArguments | undefined;
  private configurationDone!: Promise<void>;
  private markConfigurationDone!: () => void;
  private varRefs = new Map<number, VarProvider>();
  private nextVarRef = 1;
  private lastStop: StopInfo | undefined;
  private pendingLedger: LedgerEvent[] = [];
  private ledgerTimer: NodeJS.Timeout | undefined;
  private lastLedgerFlush = 0;
  private pendingOutput = "";
  private outputTimer: NodeJS.Timeout | undefined;
  private nextBreakpointId = 1;
  private ended = false;
  /** The last breakpoint requests, replayed after a restart. */
  private sourceBps = new Map<string, DebugProtocol.SetBreakpointsArguments>();
  private functionBps: DebugProtocol.SetFunctionBreakpointsArguments | undefined;
  private instructionBps: DebugProtocol.SetInstructionBreakpointsArguments | undefined;
  private dataBps: DebugProtocol.SetDataBreakpointsArguments | undefined;
  private exceptionBps: DebugProtocol.SetExceptionBreakpointsArguments | undefined;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    this.resetConfiguration();
  }

  private resetConfiguration(): void {
    this.configurationDone = new Promise((r) => (this.markConfigurationDone = r));
  }

  // ------------------------------------------------------------------ lifecycle

  /** A request that fails unexpectedly answers with an error; it never takes the adapter down. */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    const problem = argumentProblem(request.command, request.arguments);
    if (problem) {
      const response = { seq: 0, type: "response", request_seq: request.seq, command: request.command, success: false } as DebugProtocol.Response;
      this.sendErrorResponse(response, { id: 1101, format: `afterburn-dap: ${request.command}: ${problem}`.replace(/[{}]/g, ""), showUser: false });
      return;
    }
    try {
      super.dispatchRequest(request);
    } catch (e) {
      const response = { seq: 0, type: "response", request_seq: request.seq, command: request.command, success: false } as DebugProtocol.Response;
      this.sendErrorResponse(response, { id: 1100, format: `afterburn-dap: ${request.command} failed: ${(e as Error).message}`.replace(/[{}]/g, ""), showUser: true });
    }
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsEvaluateForHovers: true,
      supportsStepBack: true,
      supportsSetVariable: true,
      supportsRestartRequest: true,
      supportsExceptionInfoRequest: true,
      supportsExceptionFilterOptions: true,
      exceptionBreakpointFilters: EXCEPTION_FILTERS.map((f) => ({
        filter: f.id,
        label: f.label,
        description: f.description,
        default: false,
        supportsCondition: f.supportsCondition ?? false,
        conditionDescription: f.conditionDescription,
      })),
      supportsDataBreakpoints: true,
      supportsDataBreakpointBytes: true,
      supportsDisassembleRequest: true,
      supportsSteppingGranularity: true,
      supportsInstructionBreakpoints: true,
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      supportsTerminateRequest: true,
      supportTerminateDebuggee: true,
      supportsValueFormattingOptions: false,
    };
    this.sendResponse(response);
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: AfterburnLaunchArguments): Promise<void> {
    this.launchArgs = args;
    try {
      await this.load(args);
    } catch (e) {
      this.failLaunch(response, e);
      return;
    }
    this.sendEvent(new InitializedEvent());
    await this.configurationDone;
    this.sendResponse(response);
    this.startRuntime(args);
  }

  private failLaunch(response: DebugProtocol.Response, e: unknown): void {
    const err = e as Error;
    if (e instanceof ProgramError && e.buildLog) this.sendEvent(new OutputEvent(e.buildLog, "stderr"));
    const message = e instanceof ProgramError || e instanceof GuestLoadError ? err.message : `${err.message}`;
    this.sendErrorResponse(response, { id: 1001, format: message.replace(/\{/g, "{{").replace(/\}/g, "}}"), showUser: true });
  }

  /** Obtain (or build) the program and load the guest; breakpoints already set are re-applied. */
  private async load(args: AfterburnLaunchArguments): Promise<void> {
    const backend = args.backend ?? "raw";
    if (!BACKEND_NAMES.includes(backend)) throw new GuestLoadError(`unknown backend '${backend}' (one of ${BACKEND_NAMES.join(", ")})`);
    const program = await obtainProgram({ program: args.program, rom: args.rom, args: args.args, cwd: args.cwd });
    if (program.buildLog.trim()) this.sendEvent(new OutputEvent(program.buildLog, "console"));
    const postPorts = args.postPort === undefined ? [] : Array.isArray(args.postPort) ? args.postPort : [args.postPort];
    let runtimeRef: GuestRuntime | undefined;
    const hostOptions = {
      backend,
      fileName: program.path,
      memoryMiB: args.memory,
      cmdline: args.cmdline,
      postPorts,
      vtx: args.vtx,
      onSerial: (text: string) => runtimeRef?.serial(text),
      onPost: (port: number, byte: number) => this.sendEvent(new OutputEvent(`post 0x${port.toString(16)}: 0x${byte.toString(16).padStart(2, "0")}\n`, "console")),
      onGuestException: (info: { vector: number; eip: number }, detail: string) => runtimeRef?.guestException(info.vector, info.eip, detail),
    };
    let guest: DebugGuest;
    try {
      guest = program.kind === "rom" ? openRomGuest(program.bytes, hostOptions) : openElfGuest(program.bytes, hostOptions);
    } catch (e) {
      if (e instanceof GuestLoadError) throw e;
      throw new GuestLoadError(`${program.path}: ${(e as Error).message}`);
    }
    const info = new DebugInfo(program.kind === "elf" ? readElf(program.bytes, program.path) : undefined);
    this.program = program;
    this.guest = guest;
    this.info = info;
    this.ended = false;
    this.runtime = new GuestRuntime(guest, info, {
      stopped: (s) => this.onStopped(s),
      ended: (e) => this.onEnded(e),
      output: (t) => this.queueOutput(t),
      ledger: (events) => this.queueLedger(events),
      log: (t) => this.sendEvent(new OutputEvent(t, "console")),
    }, { maxInstructions: args.maxInstructions });
    runtimeRef = this.runtime;
    // breakpoints from before a restart
    for (const a of this.sourceBps.values()) this.applySourceBreakpoints(a);
    if (this.functionBps) this.applyFunctionBreakpoints(this.functionBps);
    if (this.instructionBps) this.applyInstructionBreakpoints(this.instructionBps);
    if (this.dataBps) this.applyDataBreakpoints(this.dataBps);
    this.applyExceptionFilters();
  }

  private startRuntime(args: AfterburnLaunchArguments): void {
    const what = this.program!.kind === "rom" ? "ROM" : "ELF";
    this.sendEvent(new OutputEvent(`afterburn: ${what} ${this.program!.path} on the ${this.guest!.backend} backend (${this.guest!.sites.length} afterburned sites)\n`, "console"));
    this.runtime!.launch(args.stopOnEntry ?? false);
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.markConfigurationDone();
    this.sendResponse(response);
  }

  protected override async restartRequest(response: DebugProtocol.RestartResponse, args: DebugProtocol.RestartArguments): Promise<void> {
    const launch = ((args?.arguments as AfterburnLaunchArguments | undefined) ?? this.launchArgs)!;
    this.teardown();
    this.launchArgs = launch;
    try {
      await this.load(launch);
    } catch (e) {
      this.failLaunch(response, e);
      return;
    }
    this.sendResponse(response);
    this.startRuntime(launch);
  }

  private teardown(): void {
    this.flushOutput();
    this.runtime?.dispose();
    this.runtime = undefined;
    this.varRefs.clear();
    if (this.ledgerTimer) clearTimeout(this.ledgerTimer);
    this.ledgerTimer = undefined;
    this.pendingLedger = [];
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    const wasRunning = !this.ended;
    this.flushLedger();
    this.teardown();
    this.sendResponse(response);
    if (wasRunning) {
      this.ended = true;
      this.sendEvent(new TerminatedEvent());
    }
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.teardown();
    this.sendResponse(response);
  }

  // ------------------------------------------------------------------ runtime → DAP

  private onStopped(s: StopInfo): void {
    this.lastStop = s;
    this.varRefs.clear();
    this.flushOutput();
    this.flushLedger();
    this.sendReport();
    const e = new StoppedEvent(s.reason, THREAD_ID, s.text) as DebugProtocol.StoppedEvent;
    e.body.description = s.description;
    if (s.breakpointIds) e.body.hitBreakpointIds = s.breakpointIds;
    e.body.allThreadsStopped = true;
    this.sendEvent(e);
  }

  private onEnded(e: EndInfo): void {
    if (this.ended) return;
    this.ended = true;
    this.flushOutput();
    this.flushLedger();
    this.sendReport();
    this.sendEvent(new OutputEvent(`afterburn: ${e.message}\n`, e.reason === "exit" ? "console" : "stderr"));
    this.sendEvent(new ExitedEvent(e.exitCode));
    this.sendEvent(new TerminatedEvent());
  }

  /** Guest console text, sent a line (or a pause in output) at a time rather than a byte at a time. */
  private queueOutput(text: string): void {
    this.pendingOutput += text;
    if (text.includes("\n") || this.pendingOutput.length >= 4096) {
      const cut = this.pendingOutput.lastIndexOf("\n") + 1 || this.pendingOutput.length;
      this.sendEvent(new OutputEvent(this.pendingOutput.slice(0, cut), "stdout"));
      this.pendingOutput = this.pendingOutput.slice(cut);
    }
    if (this.pendingOutput && !this.outputTimer) this.outputTimer = setTimeout(() => this.flushOutput(), 50);
  }

  private flushOutput(): void {
    if (this.outputTimer) clearTimeout(this.outputTimer);
    this.outputTimer = undefined;
    if (this.pendingOutput) this.sendEvent(new OutputEvent(this.pendingOutput, "stdout"));
    this.pendingOutput = "";
  }

  private sendReport(): void {
    if (!this.guest) return;
    this.sendEvent(new Event("afterburnReport", { backend: this.guest.backend, report: this.guest.report() }));
  }

  private queueLedger(events: LedgerEvent[]): void {
    this.pendingLedger.push(...events);
    if (this.ledgerTimer) return;
    const wait = Math.max(0, this.lastLedgerFlush + LEDGER_EVENT_INTERVAL_MS - Date.now());
    this.ledgerTimer = setTimeout(() => {
      this.ledgerTimer = undefined;
      this.flushLedger();
    }, wait);
  }

  private flushLedger(): void {
    if (this.ledgerTimer) clearTimeout(this.ledgerTimer);
    this.ledgerTimer = undefined;
    if (this.runtime) this.pendingLedger.push(...this.runtime.takeLedgerEvents());
    if (this.pendingLedger.length === 0 || !this.guest) return;
    this.lastLedgerFlush = Date.now();
    const events = this.pendingLedger;
    this.pendingLedger = [];
    this.sendEvent(new Event("afterburnLedger", { backend: this.guest.backend, events }));
  }

  // ------------------------------------------------------------------ breakpoints

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const path = args.source.path ?? args.source.name ?? "";
    this.sourceBps.set(path, args);
    response.body = { breakpoints: this.applySourceBreakpoints(args) };
    this.sendResponse(response);
  }

  private applySourceBreakpoints(args: DebugProtocol.SetBreakpointsArguments): DebugProtocol.Breakpoint[] {
    const path = args.source.path ? this.convertClientPathToDebugger(args.source.path) : (args.source.name ?? "");
    const out: DebugProtocol.Breakpoint[] = [];
    const entries: { id: number; address: number; condition?: string; hitCondition?: string; logMessage?: string }[] = [];
    for (const b of args.breakpoints ?? (args.lines ?? []).map((line) => ({ line }) as DebugProtocol.SourceBreakpoint)) {
      const line = this.convertClientLineToDebugger(b.line);
      const id = this.nextBreakpointId++;
      const bp = new Breakpoint(false, b.line) as DebugProtocol.Breakpoint;
      bp.id = id;
      const table = this.info?.lineTable;
      const found = table?.lineToAddresses(path, line);
      if (!this.info) bp.message = "the program is not loaded yet";
      else if (!table || table.rows.length === 0) bp.message = this.info.lineTableProblem ?? "no line table";
      else if (!found) {
        const known = table.files.some((f) => f === path || f.endsWith("/" + basename(path)));
        bp.message = known ? `no code at or after line ${line} in ${basename(path)}` : `${basename(path)} is not part of ${basename(this.program?.path ?? "the program")} (no DWARF line rows name it)`;
      } else {
        const cond = this.checkCondition(b.condition);
        if (cond) bp.message = cond;
        else {
          bp.verified = true;
          bp.line = this.convertDebuggerLineToClient(found.line);
          if (found.line !== line) bp.message = `moved to line ${found.line}, the next line with code`;
          bp.source = new Source(basename(found.files[0]), this.convertDebuggerPathToClient(found.files[0]));
          bp.instructionReference = hex8(found.addresses[0]);
          for (const address of found.addresses) entries.push({ id, address, condition: b.condition, hitCondition: b.hitCondition, logMessage: b.logMessage });
        }
      }
      out.push(bp);
    }
    this.runtime?.setCodeBreakpoints(`source:${path}`, "source", entries);
    return out;
  }

  private checkCondition(condition: string | undefined): string | undefined {
    if (!condition || !this.runtime) return undefined;
    try {
      this.runtime.evaluate(condition);
      return undefined;
    } catch (e) {
      return /unknown register or symbol|unexpected|expected|incomplete/.test((e as Error).message) ? `condition: ${(e as Error).message}` : undefined;
    }
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.functionBps = args;
    response.body = { breakpoints: this.applyFunctionBreakpoints(args) };
    this.sendResponse(response);
  }

  private applyFunctionBreakpoints(args: DebugProtocol.SetFunctionBreakpointsArguments): DebugProtocol.Breakpoint[] {
    const entries: { id: number; address: number; condition?: string; hitCondition?: string }[] = [];
    const out = args.breakpoints.map((b) => {
      const id = this.nextBreakpointId++;
      const bp = new Breakpoint(false) as DebugProtocol.Breakpoint;
      bp.id = id;
      const sym = this.info?.lookupAny(b.name.trim());
      let address = sym?.address;
      if (address === undefined && this.runtime) {
        try {
          if (/^\*/.test(b.name.trim())) address = this.runtime.evaluate(b.name.trim().slice(1));
        } catch {
          // reported below
        }
      }
      if (address === undefined) bp.message = `no function or label '${b.name}' in the symbol table`;
      else {
        bp.verified = true;
        bp.instructionReference = hex8(address);
        const loc = this.info?.lineAt(address);
        if (loc) {
          bp.source = new Source(basename(loc.file), this.convertDebuggerPathToClient(loc.file));
          bp.line = this.convertDebuggerLineToClient(loc.line);
        }
        entries.push({ id, address, condition: b.condition, hitCondition: b.hitCondition });
      }
      return bp;
    });
    this.runtime?.setCodeBreakpoints("function", "function", entries);
    return out;
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    this.instructionBps = args;
    response.body = { breakpoints: this.applyInstructionBreakpoints(args) };
    this.sendResponse(response);
  }

  private applyInstructionBreakpoints(args: DebugProtocol.SetInstructionBreakpointsArguments): DebugProtocol.Breakpoint[] {
    const entries: { id: number; address: number; condition?: string; hitCondition?: string }[] = [];
    const out = args.breakpoints.map((b) => {
      const id = this.nextBreakpointId++;
      const bp = new Breakpoint(false) as DebugProtocol.Breakpoint;
      bp.id = id;
      try {
        const address = (parseAddress(b.instructionReference) + (b.offset ?? 0)) >>> 0;
        bp.verified = true;
        bp.instructionReference = hex8(address);
        entries.push({ id, address, condition: b.condition, hitCondition: b.hitCondition });
      } catch (e) {
        bp.message = (e as Error).message;
      }
      return bp;
    });
    this.runtime?.setCodeBreakpoints("instruction", "instruction", entries);
    return out;
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    const accessTypes: DebugProtocol.DataBreakpointAccessType[] = ["read", "write", "readWrite"];
    const none = (why: string) => {
      response.body = { dataId: null, description: why };
      this.sendResponse(response);
    };
    if (!this.runtime || !this.info) return none("the program is not loaded");
    const name = args.name.trim();
    let address: number | undefined;
    let size = args.bytes ?? 4;
    if (args.variablesReference && !args.asAddress) {
      // Variables in our scopes are registers and summaries, not memory: offer their value as an address.
      return none(`'${name}' is not in guest memory; watch an address or a symbol instead`);
    }
    const sym = this.info.lookupAny(name);
    if (sym) {
      address = sym.address;
      if (!args.bytes && sym.size > 0 && sym.size <= 4096) size = sym.size;
    } else {
      try {
        address = args.asAddress ? parseAddress(name) : this.runtime.evaluate(name);
      } catch (e) {
        return none((e as Error).message);
      }
    }
    response.body = { dataId: `${hex8(address)}:${size}`, description: `${size} byte(s) at ${hex8(address)}${sym ? ` (${sym.name})` : ""}`, accessTypes, canPersist: !!sym };
    this.sendResponse(response);
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.dataBps = args;
    response.body = { breakpoints: this.applyDataBreakpoints(args) };
    this.sendResponse(response);
  }

  private applyDataBreakpoints(args: DebugProtocol.SetDataBreakpointsArguments): DebugProtocol.Breakpoint[] {
    const watches: { id: number; address: number; size: number; access: DataAccess; condition?: string; hitCondition?: string }[] = [];
    const out = args.breakpoints.map((b) => {
      const id = this.nextBreakpointId++;
      const bp = new Breakpoint(false) as DebugProtocol.Breakpoint;
      bp.id = id;
      const m = /^(0x[0-9a-f]+):(\d+)$/i.exec(b.dataId);
      if (!m) bp.message = `unknown data id '${b.dataId}'`;
      else {
        bp.verified = true;
        bp.instructionReference = m[1];
        watches.push({ id, address: parseInt(m[1], 16), size: Math.max(1, Math.min(4096, Number(m[2]))), access: b.accessType ?? "write", condition: b.condition, hitCondition: b.hitCondition });
      }
      return bp;
    });
    this.runtime?.setDataWatches(watches);
    return out;
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.exceptionBps = args;
    try {
      const result = this.applyExceptionFilters();
      response.body = { breakpoints: result };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: 1002, format: (e as Error).message, showUser: true });
    }
  }

  private applyExceptionFilters(): DebugProtocol.Breakpoint[] {
    const list: { id: ExceptionFilterId; condition?: string }[] = [];
    const args = this.exceptionBps;
    const known = new Set(EXCEPTION_FILTERS.map((f) => f.id));
    for (const f of args?.filters ?? []) if (known.has(f as ExceptionFilterId)) list.push({ id: f as ExceptionFilterId });
    for (const o of args?.filterOptions ?? []) if (known.has(o.filterId as ExceptionFilterId)) list.push({ id: o.filterId as ExceptionFilterId, condition: o.condition });
    if (!args) {
      const on = this.launchArgs?.breakOnTrap;
      if (on === true) list.push({ id: "trap" }, { id: "vm-exit" }, { id: "hole" }, { id: "missed-site" }, { id: "triple-fault" });
      else if (Array.isArray(on)) for (const id of on) if (known.has(id)) list.push({ id });
    }
    this.runtime?.setExceptionFilters(list);
    return list.map(() => new Breakpoint(true) as DebugProtocol.Breakpoint);
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const s = this.lastStop;
    const e = s?.event;
    response.body = {
      exceptionId: e ? `${e.kind}${e.catalogueId ? `:${e.catalogueId}` : ""}` : "none",
      description: s?.description,
      breakMode: "always",
      details: e
        ? {
            message: e.detail,
            typeName: e.kind,
            stackTrace: this.runtime?.where(e.site),
            evaluateName: hex8(e.site),
          }
        : undefined,
    };
    this.sendResponse(response);
  }

  // ------------------------------------------------------------------ run control

  private ready(response: DebugProtocol.Response): GuestRuntime | undefined {
    const r = this.runtime;
    if (!r || this.ended) {
      this.sendErrorResponse(response, { id: 1003, format: "the guest is not running", showUser: false });
      return undefined;
    }
    return r;
  }

  private resumed(): void {
    this.varRefs.clear();
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    const r = this.ready(response);
    if (!r) return;
    this.resumed();
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    r.continue();
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    const r = this.ready(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    if (args.granularity === "instruction") r.stepInstruction(true);
    else r.stepLine("over");
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    const r = this.ready(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    if (args.granularity === "instruction") r.stepInstruction(false);
    else r.stepLine("in");
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    const r = this.ready(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    r.stepOut();
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    const r = this.ready(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    if (args.granularity === "instruction") r.stepBackInstruction();
    else r.stepBackLine();
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    const r = this.ready(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    r.reverseContinue();
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.runtime?.pause();
    this.sendResponse(response);
  }

  // ------------------------------------------------------------------ inspection

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: [new Thread(THREAD_ID, `CPU 0 (${this.guest?.backend ?? "raw"})`)] };
    this.sendResponse(response);
  }

  private sourceFor(addr: number): { source?: Source; line: number } {
    const loc = this.info?.lineAt(addr);
    if (!loc) return { line: 0 };
    return { source: new Source(basename(loc.file), this.convertDebuggerPathToClient(loc.file)), line: this.convertDebuggerLineToClient(loc.line) };
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const guest = this.guest;
    const info = this.info;
    if (!guest || !info || this.runtime?.running) {
      response.body = { stackFrames: [], totalFrames: 0 };
      this.sendResponse(response);
      return;
    }
    const frames: DebugProtocol.StackFrame[] = [];
    const wf = guest.wedgeFrame();
    if (wf) {
      const f = new StackFrame(1000, `wedge: ${wf.handler} → ${guest.backend} ${wf.operation}`) as DebugProtocol.StackFrame;
      f.instructionPointerReference = hex8(wf.site);
      f.presentationHint = "label";
      frames.push(f);
    }
    const cpu = guest.machine.cpu;
    walkStack(cpu, info).forEach((fr, i) => {
      // For callers, the line is that of the call (the return address may start the next line).
      const { source, line } = this.sourceFor(i === 0 ? fr.pc : fr.pc - 1);
      const sym = info.functionAt(fr.pc);
      const name = sym ? sym.name : hex8(fr.pc);
      const f = new StackFrame(i, name, source, line, 1) as DebugProtocol.StackFrame;
      f.instructionPointerReference = hex8(fr.pc);
      if (!source) f.presentationHint = "subtle";
      frames.push(f);
    });
    const start = args.startFrame ?? 0;
    const count = args.levels && args.levels > 0 ? args.levels : frames.length;
    response.body = { stackFrames: frames.slice(start, start + count), totalFrames: frames.length };
    this.sendResponse(response);
  }

  private ref(p: VarProvider): number {
    const id = this.nextVarRef++;
    this.varRefs.set(id, p);
    return id;
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse): void {
    const guest = this.guest;
    if (!guest) {
      response.body = { scopes: [] };
      this.sendResponse(response);
      return;
    }
    const scopes: DebugProtocol.Scope[] = [
      new Scope("Registers", this.ref(this.registersScope()), false),
      new Scope("Segments and descriptor tables", this.ref(this.segmentsScope()), false),
    ];
    const vcpu = guest.vcpu();
    if (vcpu) scopes.push(new Scope("Virtual CPU", this.ref(this.recordScope(() => guest.vcpu() ?? {})), false));
    scopes.push(new Scope(`Backend (${guest.backend})`, this.ref(this.recordScope(() => guest.backendState())), false));
    scopes.push(new Scope("Ledger", this.ref(this.ledgerScope()), true));
    (scopes[0] as DebugProtocol.Scope).presentationHint = "registers";
    response.body = { scopes };
    this.sendResponse(response);
  }

  private bitsScope(get: () => number, bits: Bit[], set: (name: string, v: number) => void): VarProvider {
    return {
      list: () =>
        bits.map((b) => ({
          name: b.name,
          value: String((get() >>> b.shift) & ((1 << b.width) - 1)),
          type: b.meaning,
          variablesReference: 0,
          evaluateName: `$${b.name.toLowerCase()}`,
        })),
      set: (name, value) => {
        const v = this.runtime!.evaluate(value);
        set(name, v);
        const b = bits.find((x) => x.name === name)!;
        return String((get() >>> b.shift) & ((1 << b.width) - 1));
      },
    };
  }

  private registersScope(): VarProvider {
    const cpu = this.guest!.machine.cpu;
    const info = this.info!;
    const reg = (name: string, value: number, extra: Partial<DebugProtocol.Variable> = {}): DebugProtocol.Variable => ({
      name,
      value: hex8(value),
      variablesReference: 0,
      evaluateName: `$${name}`,
      memoryReference: hex8(value),
      ...extra,
    });
    const setBit = (name: string, v: number) => {
      writeRegister(cpu, name, v);
      this.runtime?.edited();
    };
    return {
      list: () => {
        const out: DebugProtocol.Variable[] = GENERAL.map((n, i) => reg(n, cpu.regs[i] >>> 0));
        const sym = info.symbolize(cpu.eip);
        out.push(reg("eip", cpu.eip >>> 0, { value: `${hex8(cpu.eip)}${sym ? ` <${sym}>` : ""}` }));
        const fl = cpu.getEflags() >>> 0;
        out.push(reg("eflags", fl, { value: `${hex8(fl)} [${bitNames(fl, EFLAGS_BITS)}]`, variablesReference: this.ref(this.bitsScope(() => cpu.getEflags(), EFLAGS_BITS, setBit)), memoryReference: undefined }));
        out.push(reg("cr0", cpu.cr[0], { value: `${hex8(cpu.cr[0])} [${bitNames(cpu.cr[0], CR0_BITS)}]`, variablesReference: this.ref(this.bitsScope(() => cpu.cr[0], CR0_BITS, setBit)), memoryReference: undefined }));
        out.push(reg("cr2", cpu.cr[2]));
        out.push(reg("cr3", cpu.cr[3]));
        out.push(reg("cr4", cpu.cr[4], { value: `${hex8(cpu.cr[4])} [${bitNames(cpu.cr[4], CR4_BITS)}]`, variablesReference: this.ref(this.bitsScope(() => cpu.cr[4], CR4_BITS, setBit)), memoryReference: undefined }));
        for (const i of [0, 1, 2, 3, 6, 7]) out.push(reg(`dr${i}`, cpu.dr[i] ?? 0, { memoryReference: undefined }));
        out.push({ name: "cpl", value: String(cpu.cpl), variablesReference: 0, evaluateName: "$cpl" });
        out.push({ name: "mode", value: `${cpu.cr[0] & 1 ? "protected" : "real"}${cpu.cr[0] & 0x80000000 ? ", paging" : ""}, ${cpu.codeSize}-bit code${cpu.halted ? ", halted" : ""}`, variablesReference: 0 });
        out.push({ name: "instructions", value: String(cpu.instructionCount), variablesReference: 0 });
        return out;
      },
      set: (name, value) => {
        const v = this.runtime!.evaluate(value);
        if (!writeRegister(cpu, name, v)) throw new Error(`${name} cannot be changed`);
        this.runtime?.edited();
        return hex8(readRegister(cpu, name) ?? v);
      },
    };
  }

  private segmentsScope(): VarProvider {
    const cpu = this.guest!.machine.cpu;
    return {
      list: () => {
        const out: DebugProtocol.Variable[] = SEGMENTS.map((n, i) => {
          const s = cpu.segs[i];
          return { name: n, value: `${hex4(s.selector)} base ${hex8(s.base)} limit ${hex8(s.limit)} access 0x${(s.access & 0xffff).toString(16)}`, variablesReference: 0, evaluateName: `$${n}` };
        });
        const table = (name: string, which: "gdt" | "idt", t: { base: number; limit: number }) => ({
          name,
          value: `base ${hex8(t.base)} limit ${hex4(t.limit)}`,
          memoryReference: hex8(t.base),
          variablesReference: this.ref({
            list: () =>
              descriptorTable(cpu, which).map((d) => ({
                name: which === "gdt" ? `[${d.index}] ${hex4(d.selector)}` : `[${d.index}] vector ${d.index}`,
                value: d.text,
                variablesReference: 0,
              })),
          }),
          indexedVariables: Math.min(256, Math.floor((t.limit + 1) / 8)),
        });
        out.push(table("gdtr", "gdt", cpu.gdtr));
        out.push(table("idtr", "idt", cpu.idtr));
        out.push({ name: "ldtr", value: `${hex4(cpu.ldtr.selector)} base ${hex8(cpu.ldtr.base)} limit ${hex8(cpu.ldtr.limit)}`, variablesReference: 0 });
        out.push({ name: "tr", value: `${hex4(cpu.tr.selector)} base ${hex8(cpu.tr.base)} limit ${hex8(cpu.tr.limit)}`, variablesReference: 0 });
        return out;
      },
    };
  }

  private recordScope(get: () => Record<string, string | number | boolean>): VarProvider {
    return {
      list: () =>
        Object.entries(get()).map(([k, v]) => ({
          name: k,
          value: typeof v === "number" ? hex8(v) : String(v),
          variablesReference: 0,
        })),
    };
  }

  private ledgerScope(): VarProvider {
    const guest = this.guest!;
    return {
      list: () => {
        const r = guest.report();
        const out: DebugProtocol.Variable[] = [
          { name: "instructions", value: String(r.instructions), variablesReference: 0 },
          { name: "cycles", value: String(r.cycles), variablesReference: 0 },
        ];
        for (const [kind, v] of Object.entries(r.events)) if (v) out.push({ name: kind, value: `${v.count} (${v.cycles} cycles)`, variablesReference: 0 });
        out.push({
          name: "sites",
          value: `${r.sites.length} with events`,
          variablesReference: this.ref({
            list: () =>
              r.sites.map((s) => ({
                name: `${hex8(s.address)}${s.symbol ? ` <${s.symbol}>` : ""}`,
                value: `${s.mnemonic} (${s.catalogueId}): ${Object.entries(s.events).map(([k, n]) => `${k} ${n}`).join(", ")}; ${s.cycles} cycles`,
                variablesReference: 0,
                memoryReference: hex8(s.address),
              })),
          }),
        });
        if (r.holes.length) out.push({ name: "holes", value: String(r.holes.length), variablesReference: this.ref({ list: () => r.holes.map((h) => ({ name: hex8(h.address), value: `${h.catalogueId}: ${h.detail}`, variablesReference: 0 })) }) });
        if (r.missedSites.length) out.push({ name: "missed sites", value: String(r.missedSites.length), variablesReference: this.ref({ list: () => r.missedSites.map((m) => ({ name: hex8(m.address), value: m.symbol ?? "", variablesReference: 0 })) }) });
        return out;
      },
    };
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const p = this.varRefs.get(args.variablesReference);
    let vars = p ? p.list() : [];
    if (args.start !== undefined || args.count !== undefined) vars = vars.slice(args.start ?? 0, args.count ? (args.start ?? 0) + args.count : undefined);
    response.body = { variables: vars };
    this.sendResponse(response);
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    const p = this.varRefs.get(args.variablesReference);
    if (!p?.set || this.runtime?.running) {
      this.sendErrorResponse(response, { id: 1004, format: `${args.name} cannot be changed here`, showUser: true });
      return;
    }
    try {
      response.body = { value: p.set(args.name, args.value) };
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(["variables"]));
    } catch (e) {
      this.sendErrorResponse(response, { id: 1004, format: (e as Error).message, showUser: true });
    }
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const r = this.runtime;
    if (!r) {
      this.sendErrorResponse(response, { id: 1005, format: "the program is not loaded", showUser: false });
      return;
    }
    try {
      const v = r.evaluate(args.expression);
      const sym = this.info?.symbolize(v);
      response.body = { result: `${hex8(v)} (${v | 0})${sym && args.context !== "hover" ? ` <${sym}>` : ""}`, variablesReference: 0, memoryReference: hex8(v) };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: 1005, format: (e as Error).message, showUser: false });
    }
  }

  // ------------------------------------------------------------------ memory and disassembly

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    const cpu = this.guest?.machine.cpu;
    try {
      if (!cpu) throw new Error("the program is not loaded");
      const address = (parseAddress(args.memoryReference) + (args.offset ?? 0)) >>> 0;
      const count = Math.max(0, Math.min(args.count, 1 << 20));
      let readable = 0;
      while (readable < count) {
        const lin = (address + readable) >>> 0;
        if (cpu.translate(lin, false, false) === null) break;
        readable += Math.min(0x1000 - (lin & 0xfff), count - readable);
      }
      const bytes = cpu.readLinear(address, readable);
      response.body = { address: hex8(address), data: Buffer.from(bytes).toString("base64"), unreadableBytes: count - readable };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: 1006, format: (e as Error).message, showUser: false });
    }
  }

  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): void {
    const cpu = this.guest?.machine.cpu;
    try {
      if (!cpu) throw new Error("the program is not loaded");
      if (this.runtime?.running) throw new Error("pause the guest before writing its memory");
      const address = (parseAddress(args.memoryReference) + (args.offset ?? 0)) >>> 0;
      const data = Buffer.from(args.data, "base64");
      const written = cpu.writeLinear(address, new Uint8Array(data));
      this.runtime?.edited();
      response.body = { bytesWritten: written, offset: 0 };
      this.sendResponse(response);
      this.sendEvent(new MemoryEvent(hex8(address), 0, written));
      this.sendEvent(new InvalidatedEvent(["variables"]));
    } catch (e) {
      this.sendErrorResponse(response, { id: 1007, format: (e as Error).message, showUser: true });
    }
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    const guest = this.guest;
    const info = this.info;
    try {
      if (!guest || !info) throw new Error("the program is not loaded");
      // A disassembly view asks for a screenful around an address; far larger requests would decode for minutes.
      if (args.instructionCount < 0 || args.instructionCount > MAX_DISASSEMBLY) throw new Error(`instructionCount must be 0–${MAX_DISASSEMBLY}`);
      if (Math.abs(args.instructionOffset ?? 0) > MAX_DISASSEMBLY) throw new Error(`instructionOffset must be within ±${MAX_DISASSEMBLY}`);
      const base = (parseAddress(args.memoryReference) + (args.offset ?? 0)) >>> 0;
      response.body = { instructions: disassemble(guest, info, base, args.instructionOffset ?? 0, args.instructionCount, (file, line) => this.sourceAndLine(file, line)) };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: 1008, format: (e as Error).message, showUser: false });
    }
  }

  private sourceAndLine(file: string, line: number): { source: Source; line: number } {
    return { source: new Source(basename(file), this.convertDebuggerPathToClient(file)), line: this.convertDebuggerLineToClient(line) };
  }

  // ------------------------------------------------------------------ custom requests

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    switch (command) {
      case "afterburnReport":
        if (!this.guest) break;
        response.body = { report: this.guest.report() };
        this.sendResponse(response);
        return;
      case "afterburnScreen": {
        if (!this.guest) break;
        const text = this.guest.machine.captureText();
        response.body = { text, columns: 80, rows: 25 };
        this.sendResponse(response);
        return;
      }
      default:
        super.customRequest(command, response, args);
        return;
    }
    this.sendErrorResponse(response, { id: 1009, format: "the program is not loaded", showUser: false });
  }
}

/**
 * `count` instructions starting `instructionOffset` instructions from `base`. Going backwards,
 * decoding restarts from known instruction boundaries (symbols, line rows) before `base`.
 */
export function disassemble(
  guest: DebugGuest,
  info: DebugInfo,
  base: number,
  instructionOffset: number,
  count: number,
  where: (file: string, line: number) => { source: Source; line: number },
): DebugProtocol.DisassembledInstruction[] {
  const cpu = guest.machine.cpu;
  const bits = cpu.codeSize;
  const decodeFrom = (addr: number) => decodeAt(addr, cpu.readLinear(addr >>> 0, 15), bits);
  let start = base;
  let lead: number[] = [];
  if (instructionOffset < 0) {
    const need = -instructionOffset;
    const span = need * 15 + 32;
    const lo = Math.max(0, base - span);
    const syncs = [...new Set([...info.symbolStartsBefore(base, span), ...info.rowStartsIn(lo, base)])].filter((a) => a >= lo && a < base).sort((a, b) => a - b);
    let found: number[] | undefined;
    for (const s of syncs) {
      const addrs: number[] = [];
      let a = s;
      while (a < base) {
        addrs.push(a);
        a += decodeFrom(a).length;
      }
      if (a === base) {
        found = addrs;
        break;
      }
    }
    if (!found) {
      // No boundary known: decode from `need` bytes back (each instruction at least one byte).
      found = [];
      for (let a = base - need; a < base; a++) found.push(a);
    }
    lead = found.slice(-need);
    while (lead.length < need) lead.unshift(-1);
    start = base;
  }
  const addrs: number[] = [...lead];
  let a = start;
  const skip = Math.max(0, instructionOffset);
  for (let i = 0; i < skip; i++) a += decodeFrom(a).length;
  while (addrs.length < count) {
    addrs.push(a);
    a += decodeFrom(a).length;
  }
  const out: DebugProtocol.DisassembledInstruction[] = [];
  let lastLine = "";
  let placeholder = base - lead.length - 1;
  for (const addr of addrs.slice(0, count)) {
    if (addr < 0) {
      out.push({ address: hex8(Math.max(0, placeholder--)), instruction: "??", presentationHint: "invalid" });
      continue;
    }
    const lin = addr >>> 0;
    if (cpu.translate(lin, false, false) === null) {
      out.push({ address: hex8(lin), instruction: "?? (not mapped)", presentationHint: "invalid" });
      continue;
    }
    const d = decodeFrom(lin);
    let text = d.text;
    const site = guest.sites.find((s) => lin >= s.start && lin < s.end);
    if (site) {
      if (lin === site.start) {
        const orig = disassembleBytes(site.start, site.original, bits).filter((t) => !/^nop/.test(t)).join("; ");
        text +=
          site.rewrite === "none"
            ? `    # afterburn site ${site.catalogueId}: ${orig} (padded, not rewritten on ${guest.backend})`
            : `    # afterburn site ${site.catalogueId}, rewritten (${site.rewrite}) by the wedge; original: ${orig} [${hexBytes(site.original)}]`;
      } else text += `    # ${site.rewrite === "none" ? "padding" : "rewrite"} of the site at ${hex8(site.start)}`;
    }
    const fn = info.functionAt(lin);
    const ins: DebugProtocol.DisassembledInstruction = { address: hex8(lin), instructionBytes: hexBytes(d.bytes), instruction: text };
    if (fn) ins.symbol = fn.name;
    if (d.invalid) ins.presentationHint = "invalid";
    const loc = info.lineAt(lin);
    if (loc) {
      const key = `${loc.file}:${loc.line}`;
      const sl = where(loc.file, loc.line);
      ins.location = sl.source;
      ins.line = sl.line;
      lastLine = key;
    }
    out.push(ins);
  }
  void lastLine;
  return out;
}
