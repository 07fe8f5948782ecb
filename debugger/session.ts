// The DAP session: translates Debug Adapter Protocol requests into runtime calls and runtime
// happenings into DAP events. Contract B (launch attributes, exception filters, custom events
// and requests) is implemented here; nothing here is VS Code-specific.

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  Breakpoint,
  BreakpointEvent,
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
import { BACKEND_NAMES, inWedge, PageKind, type BackendName, type DebugGuest, type LedgerEvent } from "./guest-types.js";
import { obtainProgram, ProgramError, type Program } from "./program.js";
import { EXCEPTION_FILTERS, GuestRuntime, parseVectorList, type DataAccess, type ExceptionFilterId, type StopInfo, type EndInfo } from "./runtime.js";
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
import { decodeAt, disassembleBytes, hexBytes, instructionLengths } from "./disasm.js";
import { argumentProblem } from "./request-shape.js";
import { isAssemblySource, macroUsesAt } from "./macro-lines.js";
import { hitConditionMet } from "./expression.js";

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

/** A guest loaded for a launch or restart, not yet the session's. */
interface LoadedGuest {
  program: Program;
  guest: DebugGuest;
  info: DebugInfo;
  /** The runtime the guest's callbacks (console, exceptions) go to, once there is one. */
  holder: { runtime?: GuestRuntime };
}

const THREAD_ID = 1;
const DATA_ACCESS: readonly DebugProtocol.DataBreakpointAccessType[] = ["read", "write", "readWrite"];
const LEDGER_EVENT_INTERVAL_MS = 100;
/** Instructions one disassemble request may ask for, and how far from its address it may start. */
const MAX_DISASSEMBLY = 10_000;

/** A breakpoint request as set, with the breakpoints the client was answered (ids included). */
interface SetBreakpoints<A> {
  args: A;
  reported: DebugProtocol.Breakpoint[];
}

/** A variables reference: its named children, its indexed children (entry i is index i), and how to set one. */
type VarProvider = { list(): DebugProtocol.Variable[]; indexed?(): DebugProtocol.Variable[]; set?(name: string, value: string): string };

/**
 * Requests the base class would answer with an empty success although nothing happens (the
 * capability is not announced): a client that sends them anyway learns it is not supported.
 */
const UNSUPPORTED: Record<string, string> = {
  attach: "attach is not supported: afterburn-dap runs the guest itself (request \"launch\")",
  source: "there are no sources by reference: every source is a file on disk (source.path)",
  cancel: "cancel is not supported",
  goto: "goto is not supported",
  gotoTargets: "goto is not supported",
  restartFrame: "restartFrame is not supported (stepBack and reverseContinue go back in time)",
  stepInTargets: "stepInTargets is not supported",
  breakpointLocations: "breakpointLocations is not supported",
  completions: "completions is not supported",
  loadedSources: "loadedSources is not supported",
  setExpression: "setExpression is not supported (setVariable changes registers; writeMemory changes memory)",
  terminateThreads: "terminateThreads is not supported",
};

function readOnly(v: DebugProtocol.Variable): DebugProtocol.Variable {
  return { ...v, presentationHint: { ...v.presentationHint, attributes: [...(v.presentationHint?.attributes ?? []), "readOnly"] } };
}

function unsupported(command: string): string | undefined {
  return Object.hasOwn(UNSUPPORTED, command) ? UNSUPPORTED[command] : undefined;
}

function parseAddress(ref: string): number {
  const t = ref.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n)) throw new Error(`'${ref}' is not a memory reference (expected an address such as 0x100000)`);
  // Wrapped, 0x100000000 read address 0.
  if (n > 0xffffffff) throw new Error(`'${ref}' is beyond the 4 GiB address space (addresses go up to 0xffffffff)`);
  return n;
}

/** Standard base64 (padding optional), or an error: Buffer.from would decode junk into bytes silently. */
function decodeBase64(text: string): Uint8Array {
  const body = text.replace(/={1,2}$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(body) || body.length % 4 === 1 || (body.length !== text.length && text.length % 4 !== 0)) {
    throw new Error(`data is not base64 ('${text.length > 40 ? `${text.slice(0, 40)}...` : text}')`);
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

/**
 * How many bytes from `address` a host write would land in memory: mapped by the guest's page
 * tables and backed by RAM or a device (a ROM or a hole beyond RAM ignores writes).
 */
function writablePrefix(guest: DebugGuest, address: number, length: number): number {
  const cpu = guest.machine.cpu;
  const memory = guest.machine.memory;
  let n = 0;
  while (n < length) {
    const lin = (address + n) >>> 0;
    if (n > 0 && lin === 0) break; // the 4 GiB linear space ends here
    const phys = cpu.translate(lin, false, false);
    if (phys === null) break;
    const kind = memory.pageKind[phys >>> 12];
    if (kind !== PageKind.Ram && kind !== PageKind.Mmio) break;
    n += Math.min(0x1000 - (lin & 0xfff), length - n);
  }
  return n;
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
  /**
   * The last breakpoint requests, replayed when a guest is loaded (launch, restart), with the ids
   * the client was given and what it was told of each: a replay keeps the ids, so hitBreakpointIds
   * name breakpoints the client knows, and reports what changed with `breakpoint` events.
   */
  private sourceBps = new Map<string, SetBreakpoints<DebugProtocol.SetBreakpointsArguments>>();
  private functionBps: SetBreakpoints<DebugProtocol.SetFunctionBreakpointsArguments> | undefined;
  private instructionBps: SetBreakpoints<DebugProtocol.SetInstructionBreakpointsArguments> | undefined;
  private dataBps: SetBreakpoints<DebugProtocol.SetDataBreakpointsArguments> | undefined;
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
    const problem = argumentProblem(request.command, request.arguments) ?? unsupported(request.command);
    if (problem) {
      const response = { seq: 0, type: "response", request_seq: request.seq, command: request.command, success: false } as DebugProtocol.Response;
      // A launch the user started must say why it failed; other requests come from the client's machinery.
      const showUser = request.command === "launch" || request.command === "restart" || request.command === "attach";
      this.sendErrorResponse(response, { id: 1101, format: `afterburn-dap: ${request.command}: ${problem}`.replace(/[{}]/g, ""), showUser });
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
    let loaded: LoadedGuest;
    try {
      loaded = await this.load(args);
    } catch (e) {
      this.failLaunch(response, e);
      return;
    }
    // A launch in a session that already has a guest replaces it: the old one must stop running.
    if (this.runtime) this.teardown();
    this.install(args, loaded);
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

  /**
   * Obtain (or build) the program and load the guest, touching nothing of the session: a launch or
   * restart that fails leaves the guest there was as it was (a failed restart used to leave none).
   */
  private async load(args: AfterburnLaunchArguments): Promise<LoadedGuest> {
    const backend = args.backend ?? "raw";
    if (!BACKEND_NAMES.includes(backend)) throw new GuestLoadError(`unknown backend '${backend}' (one of ${BACKEND_NAMES.join(", ")})`);
    if (Array.isArray(args.breakOnTrap)) {
      const unknown = args.breakOnTrap.find((id) => !EXCEPTION_FILTERS.some((f) => f.id === id));
      if (unknown !== undefined) throw new GuestLoadError(`breakOnTrap: unknown exception filter '${unknown}' (one of ${EXCEPTION_FILTERS.map((f) => f.id).join(", ")})`);
    }
    const program = await obtainProgram({ program: args.program, rom: args.rom, args: args.args, cwd: args.cwd });
    if (program.buildLog.trim()) this.sendEvent(new OutputEvent(program.buildLog, "console"));
    const postPorts = args.postPort === undefined ? [] : Array.isArray(args.postPort) ? args.postPort : [args.postPort];
    const holder: { runtime?: GuestRuntime } = {};
    const hostOptions = {
      backend,
      fileName: program.path,
      memoryMiB: args.memory,
      cmdline: args.cmdline,
      postPorts,
      vtx: args.vtx,
      onSerial: (text: string) => holder.runtime?.serial(text),
      onPost: (port: number, byte: number) => this.sendEvent(new OutputEvent(`post 0x${port.toString(16)}: 0x${byte.toString(16).padStart(2, "0")}\n`, "console")),
      onGuestException: (info: { vector: number; eip: number }, detail: string) => holder.runtime?.guestException(info.vector, info.eip, detail),
    };
    let guest: DebugGuest;
    try {
      guest = program.kind === "rom" ? openRomGuest(program.bytes, hostOptions) : openElfGuest(program.bytes, hostOptions);
    } catch (e) {
      if (e instanceof GuestLoadError) throw e;
      throw new GuestLoadError(`${program.path}: ${(e as Error).message}`);
    }
    const info = new DebugInfo(program.kind === "elf" ? readElf(program.bytes, program.path) : undefined);
    return { program, guest, info, holder };
  }

  /** Make a loaded guest the session's; breakpoints already set are applied to it again. */
  private install(args: AfterburnLaunchArguments, { program, guest, info, holder }: LoadedGuest): void {
    this.launchArgs = args;
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
    holder.runtime = this.runtime;
    // breakpoints set before this launch, or before a restart
    for (const set of this.sourceBps.values()) this.replay(set, (ids) => this.applySourceBreakpoints(set.args, ids));
    if (this.functionBps) this.replay(this.functionBps, (ids) => this.applyFunctionBreakpoints(this.functionBps!.args, ids));
    if (this.instructionBps) this.replay(this.instructionBps, (ids) => this.applyInstructionBreakpoints(this.instructionBps!.args, ids));
    if (this.dataBps) this.replay(this.dataBps, (ids) => this.applyDataBreakpoints(this.dataBps!.args, ids));
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
    const launch = (args?.arguments as AfterburnLaunchArguments | undefined) ?? this.launchArgs;
    if (!launch) {
      this.sendErrorResponse(response, { id: 1010, format: "afterburn-dap: restart: there is nothing to restart yet (no launch has happened)", showUser: true });
      return;
    }
    let loaded: LoadedGuest;
    try {
      loaded = await this.load(launch);
    } catch (e) {
      this.failLaunch(response, e);
      return;
    }
    this.teardown();
    this.install(launch, loaded);
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
    this.flushLedger();
    this.teardown();
    this.sendResponse(response);
    // The guest was launched by this adapter, so disconnect ends it and the adapter with it (the
    // base class exits the process, except when the session runs inside the extension host).
    this.shutdown();
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
    // Every event the report counts goes out before it: the client adds each event after a report.
    this.flushLedger();
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

  /** Apply a kept request again with the ids it was given; tell the client what came out different. */
  private replay<A>(set: SetBreakpoints<A>, apply: (ids: (number | undefined)[]) => DebugProtocol.Breakpoint[]): void {
    const now = apply(set.reported.map((b) => b.id));
    now.forEach((bp, i) => {
      if (JSON.stringify(bp) !== JSON.stringify(set.reported[i])) this.sendEvent(new BreakpointEvent("changed", bp));
    });
    set.reported = now;
  }

  private breakpointId(ids: (number | undefined)[] | undefined, i: number): number {
    return ids?.[i] ?? this.nextBreakpointId++;
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const path = args.source.path ?? args.source.name ?? "";
    const reported = this.applySourceBreakpoints(args);
    this.sourceBps.set(path, { args, reported });
    response.body = { breakpoints: reported };
    this.sendResponse(response);
  }

  private applySourceBreakpoints(args: DebugProtocol.SetBreakpointsArguments, ids?: (number | undefined)[]): DebugProtocol.Breakpoint[] {
    const path = args.source.path ? this.convertClientPathToDebugger(args.source.path) : (args.source.name ?? "");
    const out: DebugProtocol.Breakpoint[] = [];
    const entries: { id: number; address: number; condition?: string; hitCondition?: string; logMessage?: string }[] = [];
    for (const [i, b] of (args.breakpoints ?? (args.lines ?? []).map((line) => ({ line }) as DebugProtocol.SourceBreakpoint)).entries()) {
      const line = this.convertClientLineToDebugger(b.line);
      const id = this.breakpointId(ids, i);
      const bp = new Breakpoint(false, b.line) as DebugProtocol.Breakpoint;
      bp.id = id;
      const table = this.info?.lineTable;
      const found = line >= 1 ? table?.lineToAddresses(path, line) : undefined;
      const inMacro = table && table.rows.length > 0 && (!found || found.line !== line) ? this.macroBreakpoint(path, line) : undefined;
      if (inMacro !== undefined) {
        const cond = inMacro.addresses.length > 0 ? this.checkCondition(b.condition, b.hitCondition) : undefined;
        bp.message = cond ?? inMacro.message;
        if (inMacro.addresses.length > 0 && !cond) {
          bp.verified = true;
          bp.source = new Source(basename(path), this.convertDebuggerPathToClient(path));
          bp.instructionReference = hex8(inMacro.addresses[0]);
          for (const address of inMacro.addresses) entries.push({ id, address, condition: b.condition, hitCondition: b.hitCondition, logMessage: b.logMessage });
        }
      } else if (line < 1) bp.message = `line ${b.line} is not a line of ${basename(path)} (lines start at ${this.convertDebuggerLineToClient(1)})`;
      else if (!this.info) bp.message = "the program is not loaded yet";
      else if (!table || table.rows.length === 0) bp.message = this.info.lineTableProblem ?? "no line table";
      else if (!found) {
        const known = table.files.some((f) => f === path || f.endsWith("/" + basename(path)));
        bp.message = known ? `no code at or after line ${line} in ${basename(path)}` : `${basename(path)} is not part of ${basename(this.program?.path ?? "the program")} (no DWARF line rows name it)`;
      } else {
        const cond = this.checkCondition(b.condition, b.hitCondition);
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

  /**
   * A breakpoint on 1-based `line` of an assembly file inside one of its `.macro` bodies: the first
   * address of each line that calls the macro (the line table names calls, never body lines).
   * Undefined when the line is not in a macro body (or the file cannot be read).
   */
  private macroBreakpoint(path: string, line: number): { addresses: number[]; message: string } | undefined {
    const table = this.info?.lineTable;
    if (!table || !isAssemblySource(path)) return undefined;
    let text: string;
    try {
      text = readFileSync(path, "latin1");
    } catch {
      return undefined;
    }
    const uses = macroUsesAt(text, basename(path), line - 1);
    if (uses === undefined) return undefined;
    const addresses: number[] = [];
    const lines: number[] = [];
    for (const l of uses.lines) {
      const at = table.lineToAddresses(path, l + 1);
      if (at === undefined || at.line !== l + 1) continue;
      lines.push(this.convertDebuggerLineToClient(l + 1));
      addresses.push(...at.addresses);
    }
    if (uses.lines.length === 0) return { addresses, message: `line ${this.convertDebuggerLineToClient(line)} is in .macro ${uses.name}, which nothing in ${basename(path)} uses` };
    if (addresses.length === 0) return { addresses, message: `line ${this.convertDebuggerLineToClient(line)} is in .macro ${uses.name}; the program has no code for its uses (lines ${uses.lines.map((l) => this.convertDebuggerLineToClient(l + 1)).join(", ")})` };
    const shown = lines.length > 8 ? `${lines.slice(0, 8).join(", ")} and ${lines.length - 8} more` : lines.join(", ");
    return { addresses, message: `in .macro ${uses.name}: stops where it is used (line${lines.length === 1 ? "" : "s"} ${shown}), which is where GNU as puts its code` };
  }

  /**
   * Why a breakpoint's condition or hit condition can never work (it does not parse, or names
   * nothing), the same for every kind of breakpoint; a condition that merely fails to evaluate
   * here (a load from an unmapped page) is fine.
   */
  private checkCondition(condition: string | undefined, hitCondition?: string): string | undefined {
    if (hitCondition !== undefined && hitCondition.trim() !== "") {
      try {
        hitConditionMet(hitCondition, 0);
      } catch (e) {
        return (e as Error).message;
      }
    }
    if (!condition || !this.runtime) return undefined;
    try {
      this.runtime.evaluate(condition);
      return undefined;
    } catch (e) {
      return /unknown register or symbol|unexpected|expected|incomplete|does not fit in 32 bits|nests more than/.test((e as Error).message) ? `condition: ${(e as Error).message}` : undefined;
    }
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const reported = this.applyFunctionBreakpoints(args);
    this.functionBps = { args, reported };
    response.body = { breakpoints: reported };
    this.sendResponse(response);
  }

  private applyFunctionBreakpoints(args: DebugProtocol.SetFunctionBreakpointsArguments, ids?: (number | undefined)[]): DebugProtocol.Breakpoint[] {
    const entries: { id: number; address: number; condition?: string; hitCondition?: string }[] = [];
    const out = args.breakpoints.map((b, i) => {
      const id = this.breakpointId(ids, i);
      const bp = new Breakpoint(false) as DebugProtocol.Breakpoint;
      bp.id = id;
      const name = b.name.trim();
      // Code only: a data symbol would be a breakpoint that never fires.
      let address = this.info?.lookup(name)?.address;
      let problem: string | undefined;
      if (/^\*/.test(name) && this.runtime) {
        try {
          address = this.runtime.evaluate(name.slice(1));
        } catch (e) {
          problem = `*EXPR: ${(e as Error).message}`;
        }
      }
      if (!this.info) bp.message = "the program is not loaded yet";
      else if (problem) bp.message = problem;
      else if (address === undefined) {
        bp.message = this.info.lookupAny(name)
          ? `'${b.name}' is a data symbol, not a function or code label (watch it with a data breakpoint)`
          : `no function or label '${b.name}' in the symbol table`;
      } else if ((problem = this.checkCondition(b.condition, b.hitCondition))) bp.message = problem;
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
    const reported = this.applyInstructionBreakpoints(args);
    this.instructionBps = { args, reported };
    response.body = { breakpoints: reported };
    this.sendResponse(response);
  }

  private applyInstructionBreakpoints(args: DebugProtocol.SetInstructionBreakpointsArguments, ids?: (number | undefined)[]): DebugProtocol.Breakpoint[] {
    const entries: { id: number; address: number; condition?: string; hitCondition?: string }[] = [];
    const out = args.breakpoints.map((b, i) => {
      const id = this.breakpointId(ids, i);
      const bp = new Breakpoint(false) as DebugProtocol.Breakpoint;
      bp.id = id;
      try {
        const address = (parseAddress(b.instructionReference) + (b.offset ?? 0)) >>> 0;
        const problem = this.checkCondition(b.condition, b.hitCondition);
        if (problem) throw new Error(problem);
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
    const accessTypes = [...DATA_ACCESS];
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
    const reported = this.applyDataBreakpoints(args);
    this.dataBps = { args, reported };
    response.body = { breakpoints: reported };
    this.sendResponse(response);
  }

  private applyDataBreakpoints(args: DebugProtocol.SetDataBreakpointsArguments, ids?: (number | undefined)[]): DebugProtocol.Breakpoint[] {
    const watches: { id: number; address: number; size: number; access: DataAccess; condition?: string; hitCondition?: string }[] = [];
    const out = args.breakpoints.map((b, i) => {
      const id = this.breakpointId(ids, i);
      const bp = new Breakpoint(false) as DebugProtocol.Breakpoint;
      bp.id = id;
      const m = /^(0x[0-9a-f]+):(\d+)$/i.exec(b.dataId);
      const problem = this.checkCondition(b.condition, b.hitCondition);
      if (!m) bp.message = `unknown data id '${b.dataId}'`;
      else if (b.accessType !== undefined && !DATA_ACCESS.includes(b.accessType)) bp.message = `unknown accessType '${b.accessType}' (one of ${DATA_ACCESS.join(", ")})`;
      else if (problem) bp.message = problem;
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
    let resolved: { list: { id: ExceptionFilterId; condition?: string }[]; breakpoints: DebugProtocol.Breakpoint[] };
    try {
      resolved = this.resolveExceptionFilters(args);
    } catch (e) {
      // Rejected settings are not kept: the previous ones stay in force (and a restart replays those).
      this.sendErrorResponse(response, { id: 1002, format: (e as Error).message.replace(/[{}]/g, ""), showUser: true });
      return;
    }
    this.exceptionBps = args;
    this.runtime?.setExceptionFilters(resolved.list);
    response.body = { breakpoints: resolved.breakpoints };
    this.sendResponse(response);
  }

  private applyExceptionFilters(): void {
    this.runtime?.setExceptionFilters(this.resolveExceptionFilters(this.exceptionBps).list);
  }

  /**
   * The filters a request (or, before the client sent one, the launch's breakOnTrap) enables, one
   * breakpoint per filter and option as the protocol pairs them. Throws for a condition that is not
   * a vector list.
   */
  private resolveExceptionFilters(args: DebugProtocol.SetExceptionBreakpointsArguments | undefined): {
    list: { id: ExceptionFilterId; condition?: string }[];
    breakpoints: DebugProtocol.Breakpoint[];
  } {
    const list: { id: ExceptionFilterId; condition?: string }[] = [];
    const breakpoints: DebugProtocol.Breakpoint[] = [];
    const known = new Set<string>(EXCEPTION_FILTERS.map((f) => f.id));
    const add = (id: string, condition?: string) => {
      const bp = new Breakpoint(known.has(id)) as DebugProtocol.Breakpoint;
      if (!known.has(id)) bp.message = `unknown exception filter '${id}' (one of ${[...known].join(", ")})`;
      else {
        if (condition?.trim()) {
          if (id !== "exception") throw new Error(`the ${id} filter takes no condition (got '${condition}')`);
          try {
            parseVectorList(condition);
          } catch (e) {
            throw new Error(`exception filter condition: ${(e as Error).message}`);
          }
        }
        list.push({ id: id as ExceptionFilterId, condition: condition?.trim() || undefined });
      }
      breakpoints.push(bp);
    };
    for (const f of args?.filters ?? []) add(f);
    for (const o of args?.filterOptions ?? []) add(o.filterId, o.condition);
    if (!args) {
      const on = this.launchArgs?.breakOnTrap;
      if (on === true) for (const id of ["trap", "vm-exit", "hole", "missed-site", "triple-fault"]) add(id);
      else if (Array.isArray(on)) for (const id of on) add(id);
    }
    return { list, breakpoints };
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

  /** The runtime for a step (or step back): only from a stop; a step sent while the guest runs took over the run. */
  private stoppedRuntime(response: DebugProtocol.Response): GuestRuntime | undefined {
    const r = this.ready(response);
    if (r?.running) {
      this.sendErrorResponse(response, { id: 1011, format: `afterburn-dap: ${response.command}: the guest is running; pause it first`, showUser: false });
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
    const r = this.stoppedRuntime(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    if (args.granularity === "instruction") r.stepInstruction(true);
    else r.stepLine("over");
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    const r = this.stoppedRuntime(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    if (args.granularity === "instruction") r.stepInstruction(false);
    else r.stepLine("in");
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    const r = this.stoppedRuntime(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    r.stepOut();
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    const r = this.stoppedRuntime(response);
    if (!r) return;
    this.resumed();
    this.sendResponse(response);
    if (args.granularity === "instruction") r.stepBackInstruction();
    else r.stepBackLine();
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    const r = this.stoppedRuntime(response);
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
      const name = codeName(guest, info, fr.pc) ?? hex8(fr.pc);
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

  /** The named bits of one register (eflags, cr0, cr4); only those bits can be set here. */
  private bitsScope(register: "eflags" | "cr0" | "cr4", bits: Bit[]): VarProvider {
    const cpu = this.guest!.machine.cpu;
    const get = () => readRegister(cpu, register)!;
    const field = (b: Bit) => (get() >>> b.shift) & ((1 << b.width) - 1);
    return {
      list: () =>
        bits.map((b) => ({
          name: b.name,
          value: String(field(b)),
          type: b.meaning,
          variablesReference: 0,
          // EFLAGS bits are registers of the expression language by their own names; CR bits are qualified.
          evaluateName: register === "eflags" ? `$${b.name.toLowerCase()}` : `$${register}.${b.name.toLowerCase()}`,
        })),
      set: (name, value) => {
        const b = bits.find((x) => x.name === name);
        if (!b) throw new Error(`'${name}' is not a bit of ${register}`);
        const v = this.runtime!.evaluate(value);
        const mask = (((1 << b.width) - 1) << b.shift) >>> 0;
        writeRegister(cpu, register, ((get() & ~mask) | ((v << b.shift) & mask)) >>> 0);
        this.runtime?.edited();
        return String(field(b));
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
    return {
      list: () => {
        const out: DebugProtocol.Variable[] = GENERAL.map((n, i) => reg(n, cpu.regs[i] >>> 0));
        const sym = info.symbolize(cpu.eip);
        out.push(reg("eip", cpu.eip >>> 0, { value: `${hex8(cpu.eip)}${sym ? ` <${sym}>` : ""}` }));
        const fl = cpu.getEflags() >>> 0;
        out.push(reg("eflags", fl, { value: `${hex8(fl)} [${bitNames(fl, EFLAGS_BITS)}]`, variablesReference: this.ref(this.bitsScope("eflags", EFLAGS_BITS)), memoryReference: undefined }));
        out.push(reg("cr0", cpu.cr[0], { value: `${hex8(cpu.cr[0])} [${bitNames(cpu.cr[0], CR0_BITS)}]`, variablesReference: this.ref(this.bitsScope("cr0", CR0_BITS)), memoryReference: undefined }));
        out.push(reg("cr2", cpu.cr[2]));
        out.push(reg("cr3", cpu.cr[3]));
        out.push(reg("cr4", cpu.cr[4], { value: `${hex8(cpu.cr[4])} [${bitNames(cpu.cr[4], CR4_BITS)}]`, variablesReference: this.ref(this.bitsScope("cr4", CR4_BITS)), memoryReference: undefined }));
        for (const i of [0, 1, 2, 3, 6, 7]) out.push(readOnly(reg(`dr${i}`, cpu.dr[i] ?? 0, { memoryReference: undefined })));
        out.push(readOnly({ name: "cpl", value: String(cpu.cpl), variablesReference: 0, evaluateName: "$cpl" }));
        out.push(readOnly({ name: "mode", value: `${cpu.cr[0] & 1 ? "protected" : "real"}${cpu.cr[0] & 0x80000000 ? ", paging" : ""}, ${cpu.codeSize}-bit code${cpu.halted ? ", halted" : ""}`, variablesReference: 0 }));
        out.push(readOnly({ name: "instructions", value: String(cpu.instructionCount), variablesReference: 0 }));
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
            list: () => [],
            indexed: () =>
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
    // A client pages indexed children with filter "indexed" and shows named ones apart (filter
    // "named"); without a filter it gets both, named first.
    let vars: DebugProtocol.Variable[] = [];
    if (p && args.filter === "indexed") vars = p.indexed?.() ?? [];
    else if (p && args.filter === "named") vars = p.list();
    else if (p) vars = [...p.list(), ...(p.indexed?.() ?? [])];
    // What setVariable cannot change says so, or a client offers to edit it and fails.
    if (p && !p.set) vars = vars.map(readOnly);
    const start = Math.max(0, args.start ?? 0);
    if (start > 0 || args.count) vars = vars.slice(start, args.count ? start + args.count : undefined);
    response.body = { variables: vars };
    this.sendResponse(response);
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    const p = this.varRefs.get(args.variablesReference);
    if (!p?.set || this.runtime?.running) {
      this.sendErrorResponse(response, { id: 1004, format: `${args.name} cannot be changed here`.replace(/[{}]/g, ""), showUser: true });
      return;
    }
    // Only the scope's own variables: a name from elsewhere (eax among the EFLAGS bits) is an error, not a write to it.
    if (!p.list().some((v) => v.name === args.name)) {
      this.sendErrorResponse(response, { id: 1004, format: `'${args.name}' is not a variable of this scope`.replace(/[{}]/g, ""), showUser: true });
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
        if (readable > 0 && lin === 0) break; // the 4 GiB linear space ends here: no wrap to address 0
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
    const guest = this.guest;
    try {
      if (!guest) throw new Error("the program is not loaded");
      if (this.runtime?.running) throw new Error("pause the guest before writing its memory");
      const cpu = guest.machine.cpu;
      const address = (parseAddress(args.memoryReference) + (args.offset ?? 0)) >>> 0;
      const data = decodeBase64(args.data);
      const writable = writablePrefix(guest, address, data.length);
      if (writable < data.length && !(args.allowPartial && writable > 0)) {
        const at = hex8(address + writable);
        throw new Error(`${at} is ${writable === 0 ? "" : `${writable} byte(s) in and `}not writable (not mapped, or not RAM): nothing was written${writable > 0 ? " (allowPartial writes what can be)" : ""}`);
      }
      const written = cpu.writeLinear(address, data.subarray(0, writable));
      this.runtime?.edited();
      response.body = { bytesWritten: written, offset: 0 };
      this.sendResponse(response);
      this.sendEvent(new MemoryEvent(hex8(address), 0, written));
      this.sendEvent(new InvalidatedEvent(["variables"]));
    } catch (e) {
      this.sendErrorResponse(response, { id: 1007, format: (e as Error).message.replace(/[{}]/g, ""), showUser: true });
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
 * What code at an address is called: the function (or label) it lies in, "wedge" inside the
 * wedge's window where the backend has put one, else nothing (the caller shows the address).
 */
function codeName(guest: DebugGuest, info: DebugInfo, address: number): string | undefined {
  const fn = info.functionAt(address);
  if (fn) return fn.name;
  if (!inWedge(address)) return undefined;
  const phys = guest.machine.cpu.translate(address >>> 0, false, false);
  return phys !== null && guest.machine.memory.pageKind[phys >>> 12] === PageKind.Mmio ? "wedge" : undefined;
}

/**
 * `count` instructions starting `instructionOffset` instructions from `base`, in address order.
 * Going backwards, decoding restarts from known instruction boundaries (symbols, line rows) before
 * `base`, else from the longest chain of instructions that ends exactly at it. Where there is no
 * instruction to show (before address 0, past the 4 GiB space, no boundary found) a placeholder
 * marked invalid stands in, one per byte, so addresses still increase: before 0 they are negative
 * decimals ("-3"), past the end hex beyond 32 bits.
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
  const TOP = 0x1_0000_0000;
  const decodeFrom = (addr: number) => decodeAt(addr, cpu.readLinear(addr >>> 0, 15), bits);
  /** Past the last instruction in the address space, every byte is a placeholder. */
  const advance = (a: number) => (a < TOP ? a + decodeFrom(a).length : a + 1);
  const entries: { address: number; boundary: boolean }[] = [];
  let a = base;
  if (instructionOffset < 0) entries.push(...instructionsBefore(guest, info, base, -instructionOffset));
  else for (let i = 0; i < instructionOffset; i++) a = advance(a);
  while (entries.length < count) {
    entries.push({ address: a, boundary: true });
    a = advance(a);
  }
  const out: DebugProtocol.DisassembledInstruction[] = [];
  for (const { address: addr, boundary } of entries.slice(0, count)) {
    if (addr < 0) {
      out.push({ address: String(addr), instruction: "?? (before address 0)", presentationHint: "invalid" });
      continue;
    }
    if (addr >= TOP) {
      out.push({ address: `0x${addr.toString(16)}`, instruction: "?? (past the end of the 4 GiB address space)", presentationHint: "invalid" });
      continue;
    }
    if (!boundary) {
      out.push({ address: hex8(addr), instruction: "?? (no known instruction boundary here)", presentationHint: "invalid" });
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
    const name = codeName(guest, info, lin);
    const ins: DebugProtocol.DisassembledInstruction = { address: hex8(lin), instructionBytes: hexBytes(d.bytes), instruction: text };
    if (name) ins.symbol = name;
    if (d.invalid) ins.presentationHint = "invalid";
    const loc = info.lineAt(lin);
    if (loc) {
      const sl = where(loc.file, loc.line);
      ins.location = sl.source;
      ins.line = sl.line;
    }
    out.push(ins);
  }
  return out;
}

/**
 * The `need` instructions right before `end`, oldest first. Each round finds a chain of
 * instructions ending exactly where the previous round began; what no chain reaches is filled with
 * one-byte placeholders (boundary false), which go below 0 near the bottom of the space.
 */
function instructionsBefore(guest: DebugGuest, info: DebugInfo, end: number, need: number): { address: number; boundary: boolean }[] {
  const out: { address: number; boundary: boolean }[] = [];
  let stop = end;
  while (out.length < need && stop > 0) {
    const chain = chainEndingAt(guest, info, stop, need - out.length);
    if (chain.length === 0) break;
    out.unshift(...chain.map((address) => ({ address, boundary: true })));
    stop = chain[0];
  }
  while (out.length < need) out.unshift({ address: --stop, boundary: false });
  return out;
}

/**
 * Up to `want` instruction addresses, ascending, the last of which ends exactly at `stop`: from the
 * earliest known boundary (symbol, line row) whose chain lands on `stop`, else from the start of
 * the longest such chain (x86 decoding resynchronises, so the longest is almost always the real one).
 */
function chainEndingAt(guest: DebugGuest, info: DebugInfo, stop: number, want: number): number[] {
  const cpu = guest.machine.cpu;
  const lo = Math.max(0, stop - (want * 15 + 32));
  const span = stop - lo;
  const lengths = instructionLengths(cpu.readLinear(lo, span + 15), span, cpu.codeSize);
  // depth[i]: instructions from lo+i to stop when that chain lands exactly on it, else 0.
  const depth = new Uint32Array(span);
  let best = -1;
  for (let i = span - 1; i >= 0; i--) {
    const next = i + lengths[i];
    depth[i] = next === span ? 1 : next < span && depth[next] > 0 ? depth[next] + 1 : 0;
    if (depth[i] > 0 && (best < 0 || depth[i] >= depth[best])) best = i;
  }
  const syncs = [...info.symbolStartsBefore(stop, span), ...info.rowStartsIn(lo, stop)].filter((x) => x >= lo && x < stop && depth[x - lo] > 0);
  const from = syncs.length > 0 ? syncs.reduce((m, x) => Math.min(m, x)) - lo : best;
  if (from < 0) return [];
  const chain: number[] = [];
  for (let i = from; i < span; i += lengths[i]) chain.push(lo + i);
  return chain.slice(-want);
}
