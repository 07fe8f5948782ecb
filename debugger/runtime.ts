// The debugger's runtime over one guest: run control in slices (setImmediate between them, so
// pause/terminate/disconnect are served while the guest runs), breakpoints with conditions and
// hit counts, data breakpoints, stepping by instruction and by source line, step-out, and time
// travel (step back, reverse continue) from recorded history: guest snapshots every
// CHECKPOINT_INTERVAL instructions plus deterministic replay. Knows nothing of DAP.

import type { Cpu, RunResult } from "../machine/index.js";
import type { DebugInfo } from "./debug-info.js";
import type { DebugGuest, LedgerEvent, LedgerEventKind } from "./guest-types.js";
import { decodeAt, type DecodedInstruction } from "./disasm.js";
import { readRegister, walkStack, hex8 } from "./cpu-view.js";
import { evaluate, hitConditionMet, type EvalContext } from "./expression.js";
import { releaseGuestSnapshot } from "./guest-host.js";
import { inWedge, WEDGE_ENTRY } from "./guest-types.js";

/**
 * Instructions a step over one rewritten site may take inside the wedge (its stub runs the original
 * instruction; a rep string one may be long) before the step gives up and reports where it is.
 */
const SITE_STEP_LIMIT = 100_000;

export type StopReason = "entry" | "step" | "breakpoint" | "function breakpoint" | "instruction breakpoint" | "data breakpoint" | "exception" | "pause" | "goto";

export interface StopInfo {
  reason: StopReason;
  /** One line for the UI ("Paused on breakpoint", "#GP at ..."). */
  description: string;
  /** Longer text (exception details). */
  text?: string;
  breakpointIds?: number[];
  /** The ledger event that stopped the run (exception filters). */
  event?: LedgerEvent;
  filter?: ExceptionFilterId;
}

export interface EndInfo {
  reason: RunResult["reason"];
  exitCode: number;
  message: string;
}

export type BreakpointKind = "source" | "function" | "instruction";

export interface CodeBreakpoint {
  /** The client's breakpoint id (several addresses may share one). */
  id: number;
  group: string;
  kind: BreakpointKind;
  address: number;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
  /** Hits so far, one count per client breakpoint: the addresses of a line (inlined, in a .rept) share it. */
  count: { hits: number };
}

export type DataAccess = "read" | "write" | "readWrite";

export interface DataWatch {
  id: number;
  address: number;
  size: number;
  access: DataAccess;
  condition?: string;
  hitCondition?: string;
  hits: number;
}

export type ExceptionFilterId = "trap" | "vm-exit" | "hypercall" | "hole" | "missed-site" | "exception" | "triple-fault";
export const EXCEPTION_FILTERS: { id: ExceptionFilterId; label: string; description: string; supportsCondition?: boolean; conditionDescription?: string }[] = [
  { id: "trap", label: "Trap", description: "A privileged instruction trapped to the VMM (trap backend)" },
  { id: "vm-exit", label: "VM exit", description: "A VM exit (vtx backend)" },
  { id: "hypercall", label: "Hypercall / IPC", description: "The wedge issued a hypercall (xen) or an IPC (l4)" },
  { id: "hole", label: "Virtualization hole", description: "A sensitive-unprivileged instruction ran with the wrong meaning (trap backend)" },
  { id: "missed-site", label: "Missed site", description: "A sensitive instruction without an .afterburn annotation reached the wedge" },
  { id: "exception", label: "Guest exception", description: "A fault, trap or software interrupt delivered to the guest", supportsCondition: true, conditionDescription: "Comma-separated vectors, e.g. 13, 14 or #GP, #PF" },
  { id: "triple-fault", label: "Triple fault", description: "The guest shut the machine down" },
];

const FILTER_OF: Record<LedgerEventKind, ExceptionFilterId | undefined> = {
  trap: "trap",
  "vm-exit": "vm-exit",
  hypercall: "hypercall",
  ipc: "hypercall",
  hole: "hole",
  "missed-site": "missed-site",
  exception: "exception",
  "triple-fault": "triple-fault",
  "wedge-call": undefined,
  inline: undefined,
};

const VECTOR_NAMES: Record<string, number> = { DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8, TS: 10, NP: 11, SS: 12, GP: 13, PF: 14, MF: 16, AC: 17, MC: 18, XM: 19 };

export function parseVectorList(condition: string): Set<number> {
  const out = new Set<number>();
  for (const part of condition.split(",").map((s) => s.trim()).filter(Boolean)) {
    const name = /^#?([A-Za-z]{2,3})$/.exec(part);
    if (name && VECTOR_NAMES[name[1].toUpperCase()] !== undefined) out.add(VECTOR_NAMES[name[1].toUpperCase()]);
    else if (/^(0x[0-9a-f]+|\d+)$/i.test(part)) out.add(Number(part));
    else throw new Error(`'${part}' is not an exception vector (a number such as 13 or a name such as #GP)`);
  }
  return out;
}

/** Instructions between history checkpoints (a snapshot of the guest). */
export const CHECKPOINT_INTERVAL = 100_000;
/** Checkpoints kept; the oldest is dropped beyond this (the history's horizon). */
export const MAX_CHECKPOINTS = 400;
/** Virtual time one guest.run call may take while running freely. */
const RUN_CHUNK = 100_000;
/** Wall time per scheduling tick before yielding to the event loop. */
const TICK_MS = 6;

interface Checkpoint {
  snapshot: unknown;
  retired: number;
  serialSeq: number;
  eventSeq: number;
}

type Outcome = { kind: "ran" } | { kind: "temp" } | { kind: "stop"; stop: StopInfo } | { kind: "end"; end: EndInfo };
type Job = () => StopInfo | EndInfo | undefined;

interface Temp {
  address: number;
  /** Reached only when ESP >= minSp (the frame that set it has returned). */
  minSp: number;
}

export interface RuntimeOptions {
  /** Virtual-time budget per run (continue grants a fresh one when it is spent). */
  maxInstructions?: number;
  /** Instructions between history checkpoints (default CHECKPOINT_INTERVAL). */
  checkpointInterval?: number;
}

export interface RuntimeEvents {
  stopped(info: StopInfo): void;
  ended(info: EndInfo): void;
  output(text: string): void;
  ledger(events: LedgerEvent[]): void;
  /** A breakpoint's log message (logpoints). */
  log(text: string): void;
}

function reasonFor(kind: BreakpointKind): StopReason {
  return kind === "function" ? "function breakpoint" : kind === "instruction" ? "instruction breakpoint" : "breakpoint";
}

function isEnd(r: StopInfo | EndInfo): r is EndInfo {
  return (r as EndInfo).exitCode !== undefined;
}

export class GuestRuntime {
  readonly cpu: Cpu;
  private codeBps: CodeBreakpoint[] = [];
  private watches: DataWatch[] = [];
  private filters = new Map<ExceptionFilterId, Set<number> | undefined>();
  private checkpoints: Checkpoint[] = [];
  private job: Job | undefined;
  private pauseRequested = false;
  private replaying = false;
  private pendingEvent: { event: LedgerEvent; filter: ExceptionFilterId } | undefined;
  private serialSeq = 0;
  private serialEmitted = 0;
  private eventSeq = 0;
  private eventEmitted = 0;
  private ledgerBuffer: LedgerEvent[] = [];
  private budgetStart = 0;
  private ended: EndInfo | undefined;
  private unsubscribe: () => void;
  /** Whether the runtime has been disposed (terminate / disconnect). */
  disposed = false;
  private readonly interval: number;

  /** Inside a user's single step (stepOne with `step`): an entry hook then ends the step. */
  private userStep = false;
  private hookStepped = false;

  constructor(
    readonly guest: DebugGuest,
    readonly info: DebugInfo,
    private readonly events: RuntimeEvents,
    private readonly options: RuntimeOptions = {},
  ) {
    this.cpu = guest.machine.cpu;
    this.interval = Math.max(1000, options.checkpointInterval ?? CHECKPOINT_INTERVAL);
    this.unsubscribe = guest.onEvent((e) => this.onLedgerEvent(e));
    this.watchEntryHooks();
    this.checkpoint();
  }

  /**
   * A user's step at the wedge's entry or post point runs the wedge's operation and stops where the
   * guest resumes. The hook retires no instruction, so a step of "one instruction" used to run the
   * hook and then the next guest instruction unseen.
   */
  private watchEntryHooks(): void {
    const hooks = this.cpu.hooks;
    const inner = hooks.onEntry;
    if (inner === undefined) return;
    hooks.onEntry = (lin) => {
      const r = inner.call(hooks, lin);
      if (r === "handled" && this.userStep) {
        this.hookStepped = true;
        this.guest.machine.stop();
      }
      return r;
    };
  }

  // ------------------------------------------------------------------ guest output and ledger

  /** Text the guest wrote to its console; replays and re-executions after step back are not repeated. */
  serial(text: string): void {
    const before = this.serialSeq;
    this.serialSeq += text.length;
    if (this.serialSeq > this.serialEmitted) {
      const fresh = text.slice(Math.max(0, this.serialEmitted - before));
      this.serialEmitted = this.serialSeq;
      if (!this.replaying && fresh) this.events.output(fresh);
    }
  }

  private onLedgerEvent(e: LedgerEvent): void {
    this.eventSeq++;
    if (this.eventSeq > this.eventEmitted) {
      this.eventEmitted = this.eventSeq;
      if (!this.replaying) this.ledgerBuffer.push(e);
    }
    if (this.replaying) return;
    const filter = FILTER_OF[e.kind];
    // Guest exceptions stop through guestException, which sees every delivery on every backend.
    if (!filter || filter === "exception" || !this.filters.has(filter)) return;
    if (!this.pendingEvent) this.pendingEvent = { event: e, filter };
    this.guest.requestStop();
  }

  /** The guest's IDT is about to receive an exception or software interrupt (guest-host reports it). */
  guestException(vector: number, eip: number, detail: string): void {
    if (this.replaying || !this.filters.has("exception")) return;
    const vectors = this.filters.get("exception");
    if (vectors && !vectors.has(vector)) return;
    const event: LedgerEvent = { kind: "exception", site: eip >>> 0, detail, cycles: 0, instruction: this.guest.machine.cpu.instructionCount };
    if (!this.pendingEvent) this.pendingEvent = { event, filter: "exception" };
    this.guest.requestStop();
  }

  /** Ledger events recorded since the last call. */
  takeLedgerEvents(): LedgerEvent[] {
    const out = this.ledgerBuffer;
    this.ledgerBuffer = [];
    return out;
  }

  // ------------------------------------------------------------------ breakpoints

  /** Replace the breakpoints of one group (a source file, the function list, the instruction list). */
  setCodeBreakpoints(group: string, kind: BreakpointKind, list: Omit<CodeBreakpoint, "count" | "kind" | "group">[]): CodeBreakpoint[] {
    const old = this.codeBps.filter((b) => b.group === group);
    // A breakpoint set again unchanged (the client resends a file's list) keeps its count.
    const counts = new Map<number, { hits: number }>();
    const out = list.map((b) => {
      let count = counts.get(b.id);
      if (!count) {
        const prev = old.find((o) => o.address === b.address && o.condition === b.condition && o.hitCondition === b.hitCondition);
        count = { hits: prev?.count.hits ?? 0 };
        counts.set(b.id, count);
      }
      return { ...b, kind, group, count };
    });
    this.codeBps = [...this.codeBps.filter((b) => b.group !== group), ...out];
    this.armBreakpoints();
    return out;
  }

  setDataWatches(list: Omit<DataWatch, "hits">[]): DataWatch[] {
    this.watches = list.map((w) => ({ ...w, hits: 0 }));
    return this.watches;
  }

  setExceptionFilters(filters: { id: ExceptionFilterId; condition?: string }[]): void {
    this.filters = new Map(filters.map((f) => [f.id, f.condition && f.id === "exception" ? parseVectorList(f.condition) : undefined]));
  }

  private armBreakpoints(temp?: Temp): void {
    const set = this.cpu.breakpoints;
    set.clear();
    for (const b of this.codeBps) set.add(b.address >>> 0);
    if (temp) set.add(temp.address >>> 0);
  }

  private evalContext(): EvalContext {
    return {
      register: (n) => readRegister(this.cpu, n),
      symbol: (n) => this.info.lookupAny(n)?.address,
      read: (a, size) => {
        const b = this.cpu.readLinear(a >>> 0, size);
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | b[i];
        return v >>> 0;
      },
    };
  }

  evaluate(expression: string): number {
    return evaluate(expression, this.evalContext());
  }

  /** Conditions, hit counts and log messages of the breakpoints at addr: the ids that stop. */
  private breakpointsHit(addr: number, countHits: boolean): CodeBreakpoint[] {
    const stop: CodeBreakpoint[] = [];
    for (const b of this.codeBps) {
      if (b.address !== addr) continue;
      if (b.condition) {
        let ok: boolean;
        try {
          ok = this.evaluate(b.condition) !== 0;
        } catch (e) {
          // A condition that cannot be evaluated stops, and says why (like gdb).
          if (countHits) this.events.log(`breakpoint condition '${b.condition}': ${(e as Error).message}\n`);
          ok = true;
        }
        if (!ok) continue;
      }
      if (countHits) {
        b.count.hits++;
        if (b.hitCondition) {
          try {
            if (!hitConditionMet(b.hitCondition, b.count.hits)) continue;
          } catch (e) {
            this.events.log(`${(e as Error).message}\n`);
          }
        }
        if (b.logMessage !== undefined) {
          this.events.log(this.interpolate(b.logMessage) + "\n");
          continue;
        }
      }
      // A log point never stops, replayed (reverse continue) or not.
      if (b.logMessage !== undefined) continue;
      stop.push(b);
    }
    return stop;
  }

  private interpolate(message: string): string {
    return message.replace(/\{([^}]+)\}/g, (_, e: string) => {
      try {
        return hex8(this.evaluate(e));
      } catch (err) {
        return `<${(err as Error).message}>`;
      }
    });
  }

  // ------------------------------------------------------------------ history

  private checkpoint(): void {
    this.checkpoints.push({ snapshot: this.guest.snapshot(), retired: this.cpu.instructionCount, serialSeq: this.serialSeq, eventSeq: this.eventSeq });
    if (this.checkpoints.length > MAX_CHECKPOINTS) {
      const old = this.checkpoints.shift()!;
      releaseGuestSnapshot(this.guest, old.snapshot);
    }
  }

  private maybeCheckpoint(): void {
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (!last || this.cpu.instructionCount - last.retired >= this.interval) this.checkpoint();
  }

  /** The guest state was edited here: the past stays, the future is new. */
  edited(): void {
    this.serialEmitted = this.serialSeq;
    this.eventEmitted = this.eventSeq;
    this.checkpoint();
  }

  get historyStart(): number {
    return this.checkpoints[0]?.retired ?? 0;
  }

  get position(): number {
    return this.cpu.instructionCount;
  }

  private restoreCheckpoint(index: number): void {
    const cp = this.checkpoints[index];
    this.guest.restore(cp.snapshot);
    this.checkpoints.length = index + 1;
    this.serialSeq = cp.serialSeq;
    this.eventSeq = cp.eventSeq;
    this.pendingEvent = undefined;
    this.ended = undefined;
  }

  private lastCheckpointAtOrBefore(retired: number): number {
    for (let i = this.checkpoints.length - 1; i >= 0; i--) if (this.checkpoints[i].retired <= retired) return i;
    return 0;
  }

  /** Replay deterministically to the point where `target` instructions have retired. */
  private replayTo(target: number): void {
    this.restoreCheckpoint(this.lastCheckpointAtOrBefore(target));
    this.replaying = true;
    this.cpu.breakpoints.clear();
    try {
      let guard = 0;
      while (this.cpu.instructionCount < target && guard++ < 1_000_000) {
        const r = this.guest.run({ maxInstructions: Math.min(target - this.cpu.instructionCount, this.interval) });
        this.maybeCheckpoint();
        if (r.reason === "exit" || r.reason === "triple-fault" || r.reason === "error" || r.reason === "reset") break;
        if (r.reason === "halt" && this.cpu.halted && this.guest.machine.devices.timers.nextTime() === undefined) break;
      }
    } finally {
      this.replaying = false;
      this.pendingEvent = undefined;
      this.armBreakpoints();
    }
  }

  /** (retired, eip, esp) before each instruction in [from, to), replayed one instruction at a time. */
  private trace(from: number, to: number): { retired: number; eip: number; esp: number }[] {
    this.replayTo(from);
    this.replaying = true;
    this.cpu.breakpoints.clear();
    const out: { retired: number; eip: number; esp: number }[] = [];
    try {
      while (this.cpu.instructionCount < to) {
        out.push({ retired: this.cpu.instructionCount, eip: this.cpu.eip >>> 0, esp: this.cpu.regs[4] >>> 0 });
        const o = this.stepOne(true);
        if (o.kind === "end" || this.cpu.instructionCount === out[out.length - 1].retired) break;
      }
    } finally {
      this.replaying = false;
      this.pendingEvent = undefined;
      this.armBreakpoints();
    }
    return out;
  }

  // ------------------------------------------------------------------ execution primitives

  private interpret(r: RunResult, startCount: number, startEip: number, temp?: Temp): Outcome {
    switch (r.reason) {
      case "budget":
        return { kind: "ran" };
      case "breakpoint": {
        const eip = (r.eip ?? this.cpu.eip) >>> 0;
        if (this.cpu.instructionCount === startCount && eip === startEip) return { kind: "ran" }; // resuming from here
        if (temp && eip === temp.address && this.cpu.regs[4] >>> 0 >= temp.minSp) return { kind: "temp" };
        const hit = this.breakpointsHit(eip, true);
        if (hit.length === 0) return { kind: "ran" };
        const kind = hit[0].kind;
        return {
          kind: "stop",
          stop: {
            reason: reasonFor(kind),
            description: `Paused on ${kind === "source" ? "" : kind + " "}breakpoint at ${this.where(eip)}`,
            breakpointIds: [...new Set(hit.map((b) => b.id))],
          },
        };
      }
      case "requested":
      case "hook": {
        if (this.pendingEvent) return { kind: "stop", stop: this.eventStop() };
        if (r.reason === "hook") return { kind: "stop", stop: { reason: "pause", description: r.message } };
        return { kind: "ran" };
      }
      case "halt":
        if (this.cpu.halted && ((this.cpu.getEflags() & 0x200) === 0 || this.guest.machine.devices.timers.nextTime() === undefined)) {
          return { kind: "stop", stop: { reason: "pause", description: `Guest ${r.message}` } };
        }
        return { kind: "ran" };
      case "triple-fault":
        if (this.pendingEvent) {
          const stop = this.eventStop();
          this.ended = { reason: "triple-fault", exitCode: 125, message: r.message };
          return { kind: "stop", stop };
        }
        return { kind: "end", end: { reason: "triple-fault", exitCode: 125, message: r.message } };
      case "exit":
        return { kind: "end", end: { reason: "exit", exitCode: r.exitCode ?? 0, message: r.message } };
      case "reset":
        return { kind: "end", end: { reason: "reset", exitCode: 70, message: r.message } };
      case "error":
      default:
        return { kind: "end", end: { reason: r.reason, exitCode: 70, message: r.message } };
    }
  }

  private eventStop(): StopInfo {
    const p = this.pendingEvent!;
    this.pendingEvent = undefined;
    const e = p.event;
    const site = this.where(e.site);
    return {
      reason: "exception",
      description: `${e.kind}${e.catalogueId ? ` (${e.catalogueId})` : ""} at ${site}: ${e.detail}`,
      text: e.detail,
      event: e,
      filter: p.filter,
    };
  }

  where(addr: number): string {
    const sym = this.info.symbolize(addr);
    const line = this.info.lineAt(addr);
    return `${hex8(addr)}${sym ? ` <${sym}>` : ""}${line ? ` (${line.file.split("/").pop()}:${line.line})` : ""}`;
  }

  /** Run freely for up to `max` virtual time (breakpoints and filters active). */
  private runChunk(max: number, temp?: Temp): Outcome {
    if (this.ended) return { kind: "end", end: this.ended };
    if (this.watches.length > 0) return this.stepWatched(temp, 2000);
    const budget = this.budgetLeft();
    if (budget <= 0) return this.budgetStop();
    const startCount = this.cpu.instructionCount;
    const startEip = this.cpu.eip >>> 0;
    const r = this.guest.run({ maxInstructions: Math.min(max, budget, this.interval) });
    this.maybeCheckpoint();
    return this.interpret(r, startCount, startEip, temp);
  }

  private budgetLeft(): number {
    const max = this.options.maxInstructions;
    // Only a positive whole number is a budget (launch checks it; a NaN here made the run loop spin).
    if (max === undefined || !Number.isSafeInteger(max) || max <= 0) return Number.MAX_SAFE_INTEGER;
    return max - (this.guest.machine.devices.clock.now() - this.budgetStart);
  }

  private budgetStop(): Outcome {
    this.budgetStart = this.guest.machine.devices.clock.now();
    return { kind: "stop", stop: { reason: "pause", description: `Paused: the budget of ${this.options.maxInstructions} instructions is spent (continue grants another)` } };
  }

  /**
   * Execute exactly one instruction (fast-forwarding a halt to the next timer event). `step`: a
   * user's step, which does not charge the idle time it skips to the run budget.
   */
  private stepOne(quiet = false, temp?: Temp, step = false): Outcome {
    if (this.ended) return { kind: "end", end: this.ended };
    this.userStep = step;
    this.hookStepped = false;
    try {
      return this.stepOneInner(quiet, temp, step);
    } finally {
      this.userStep = false;
    }
  }

  private stepOneInner(quiet: boolean, temp: Temp | undefined, step: boolean): Outcome {
    const before = this.cpu.instructionCount;
    const startEip = this.cpu.eip >>> 0;
    const { clock, timers } = this.guest.machine.devices;
    for (let guard = 0; guard < 10_000; guard++) {
      let budget = 1;
      const halted = this.cpu.halted;
      if (halted) {
        const t = timers.nextTime();
        if (t !== undefined) budget = Math.max(1, t - clock.now() + 1);
      }
      const time = clock.now();
      const retired = this.cpu.instructionCount;
      const r = this.guest.run({ maxInstructions: budget });
      // A step over `hlt` skips the idle wait to the next timer event. That wait is not the guest
      // running away, and charged to the run budget it cut the step short in the interrupt handler.
      // (Runs are charged it: a guest idling forever on a timer it never takes ends on the budget.)
      if (step && halted) this.budgetStart += clock.now() - time - (this.cpu.instructionCount - retired);
      this.maybeCheckpoint();
      const o = quiet && r.reason === "breakpoint" ? ({ kind: "ran" } as Outcome) : this.interpret(r, before, startEip, temp);
      if (o.kind !== "ran") return o;
      if (this.cpu.instructionCount > before || this.hookStepped) return o;
      if (r.reason === "halt" && this.cpu.halted && timers.nextTime() === undefined) {
        return { kind: "stop", stop: { reason: "pause", description: `Guest ${r.message}` } };
      }
    }
    return { kind: "ran" };
  }

  /** Per-instruction execution with data breakpoints checked against each instruction's memory operands. */
  private stepWatched(temp: Temp | undefined, count: number, step = false): Outcome {
    for (let n = 0; n < count; n++) {
      const hit = this.watchHits();
      const values = hit.map((h) => this.cpu.readLinear(h.watch.address, h.watch.size));
      const o = this.stepOne(false, temp, step);
      if (o.kind !== "ran") return o;
      for (let k = 0; k < hit.length; k++) {
        const { watch, access, insn } = hit[k];
        if (watch.condition) {
          try {
            if (this.evaluate(watch.condition) === 0) continue;
          } catch {
            // stops, like a code breakpoint whose condition fails
          }
        }
        watch.hits++;
        if (watch.hitCondition && !hitConditionMet(watch.hitCondition, watch.hits)) continue;
        const after = this.cpu.readLinear(watch.address, watch.size);
        const changed = after.some((b, i) => b !== values[k][i]);
        const v = (b: Uint8Array) => hex8(b.reduceRight((acc, x) => acc * 256 + x, 0));
        return {
          kind: "stop",
          stop: {
            reason: "data breakpoint",
            description: `Data breakpoint: ${access} of ${hex8(watch.address)} (${watch.size} bytes) by '${insn.text}' at ${this.where(insn.address)}${access !== "read" ? (changed ? `: ${v(values[k])} → ${v(after)}` : " (value unchanged)") : ""}`,
            breakpointIds: [watch.id],
          },
        };
      }
      if (this.budgetLeft() <= 0) return this.budgetStop();
    }
    return { kind: "ran" };
  }

  private watchHits(): { watch: DataWatch; access: "read" | "write"; insn: DecodedInstruction }[] {
    const cpu = this.cpu;
    const linear = this.linear();
    const insn = decodeAt(linear, cpu.readLinear(linear, 15), cpu.codeSize, true);
    const out: { watch: DataWatch; access: "read" | "write"; insn: DecodedInstruction }[] = [];
    for (const m of insn.memory) {
      let ea = m.displacement;
      if (m.base >= 0) ea += cpu.regs[m.base];
      if (m.index >= 0) ea += cpu.regs[m.index] * m.scale;
      ea = m.addressSize === 2 ? ea & 0xffff : ea >>> 0;
      const lin = (ea + (m.segment >= 0 ? cpu.segs[m.segment].base : 0)) >>> 0;
      for (const w of this.watches) {
        if (lin >= w.address + w.size || lin + m.size <= w.address) continue;
        const read = m.read && (w.access === "read" || w.access === "readWrite");
        const write = m.write && (w.access === "write" || w.access === "readWrite");
        if (write) out.push({ watch: w, access: "write", insn });
        else if (read) out.push({ watch: w, access: "read", insn });
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ scheduling

  get running(): boolean {
    return this.job !== undefined;
  }

  private start(job: Job): void {
    if (this.disposed) return;
    this.job = job;
    this.pauseRequested = false;
    this.budgetStart = this.guest.machine.devices.clock.now();
    this.armBreakpoints();
    setImmediate(this.tick);
  }

  private tick = (): void => {
    const job = this.job;
    if (!job || this.disposed) return;
    const deadline = performance.now() + TICK_MS;
    let r: StopInfo | EndInfo | undefined;
    try {
      do r = job();
      while (r === undefined && !this.pauseRequested && performance.now() < deadline);
    } catch (e) {
      r = { reason: "error", exitCode: 70, message: `debugger error: ${(e as Error).stack ?? e}` };
    }
    if (r === undefined && this.pauseRequested) r = { reason: "pause", description: `Paused at ${this.where(this.cpu.eip)}` };
    if (r === undefined) {
      const batch = this.takeLedgerEvents();
      if (batch.length) this.events.ledger(batch);
      setImmediate(this.tick);
      return;
    }
    this.job = undefined;
    this.armBreakpoints();
    const batch = this.takeLedgerEvents();
    if (batch.length) this.events.ledger(batch);
    if (isEnd(r)) {
      this.ended = r;
      this.events.ended(r);
    } else this.events.stopped(r);
  };

  /** Stop a run at the next slice boundary (a "pause" stop follows). */
  pause(): void {
    if (this.job) this.pauseRequested = true;
  }

  dispose(): void {
    this.disposed = true;
    this.job = undefined;
    this.unsubscribe();
  }

  /** Report the entry stop (stopOnEntry), or run. */
  launch(stopOnEntry: boolean): void {
    if (stopOnEntry) setImmediate(() => this.events.stopped({ reason: "entry", description: `Paused on entry at ${this.where(this.cpu.eip)}` }));
    else this.continue();
  }

  continue(): void {
    this.start(() => this.outcomeToResult(this.runChunk(RUN_CHUNK)));
  }

  private outcomeToResult(o: Outcome, stepDone?: () => StopInfo): StopInfo | EndInfo | undefined {
    if (o.kind === "stop") return o.stop;
    if (o.kind === "end") return o.end;
    if (o.kind === "temp" && stepDone) return stepDone();
    return undefined;
  }

  private stepStop(): StopInfo {
    return { reason: "step", description: `Stepped to ${this.where(this.cpu.eip)}` };
  }

  private currentInstruction(): DecodedInstruction {
    const lin = this.linear();
    return decodeAt(lin, this.cpu.readLinear(lin, 15), this.cpu.codeSize);
  }

  /**
   * The rewritten site whose call into the wedge `insn` is (xen, l4: a `call` to the wedge entry in
   * place of the sensitive instruction). The wedge resumes the guest at the site's end, or wherever
   * the operation goes (iret, a far jump, an interrupt delivered), never necessarily after the call.
   */
  private wedgeCallSite(insn: DecodedInstruction): { start: number; end: number } | undefined {
    if (!insn.isCall || insn.branchTarget !== WEDGE_ENTRY) return undefined;
    const lin = insn.address >>> 0;
    return this.siteContaining(lin) ?? { start: lin, end: (lin + insn.length) >>> 0 };
  }

  /** The rewritten site holding linear address `lin`: the guest lists its sites in address order (the loader sorts its records). */
  private siteContaining(lin: number): { start: number; end: number } | undefined {
    const sites = this.guest.sites;
    let lo = 0;
    let hi = sites.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sites[mid].start <= lin) lo = mid + 1;
      else hi = mid;
    }
    const s = sites[lo - 1];
    return s !== undefined && lin < s.end ? s : undefined;
  }

  /**
   * Where a step over `insn` waits for the guest to come back when it is a software interrupt (or a
   * site the wedge rewrote from one): past it, on the stack it started on. Stepping over one ran on
   * into the guest's handler.
   */
  private interruptReturn(insn: DecodedInstruction, site: { start: number; end: number } | undefined): Temp | undefined {
    let interrupt = insn.isInterrupt;
    if (site !== undefined) {
      const rewritten = this.guest.sites.find((s) => s.start === site.start);
      interrupt = rewritten !== undefined && decodeAt(rewritten.start, rewritten.original, this.cpu.codeSize).isInterrupt;
    }
    if (!interrupt) return undefined;
    return { address: site !== undefined ? site.end : (this.cpu.eip + insn.length) >>> 0, minSp: this.cpu.regs[4] >>> 0 };
  }

  /** One step over a site's wedge call: instruction by instruction (hooks included) until the guest is out of the site and the wedge. */
  private stepThroughSite(site: { start: number; end: number }): Outcome {
    for (let n = 0; n < SITE_STEP_LIMIT; n++) {
      const o = this.watches.length > 0 ? this.stepWatched(undefined, 1, true) : this.stepOne(false, undefined, true);
      if (o.kind !== "ran") return o;
      const lin = this.linear();
      if ((lin < site.start || lin >= site.end) && !inWedge(lin)) return o;
    }
    return { kind: "ran" };
  }

  /** Execute with a temporary breakpoint until it is reached (or something else stops). */
  private runToTemp(temp: Temp): Job {
    this.armBreakpoints(temp);
    return () => {
      // Armed for every slice: breakpoints set between slices re-arm the set without it.
      this.armBreakpoints(temp);
      const o = this.runChunk(RUN_CHUNK, temp);
      this.armBreakpoints(temp);
      return this.outcomeToResult(o, () => this.stepStop());
    };
  }

  /** One instruction; `over` runs a call to its return. */
  stepInstruction(over: boolean): void {
    const insn = this.currentInstruction();
    const site = this.wedgeCallSite(insn);
    const back = over ? this.interruptReturn(insn, site) : undefined;
    if (back !== undefined) {
      this.start(this.runToTemp(back));
      this.armBreakpoints(back);
      return;
    }
    if (over && site !== undefined) {
      this.start(() => this.outcomeToResult(this.stepThroughSite(site)) ?? this.stepStop());
      return;
    }
    if (over && insn.isCall) {
      const temp = { address: (this.cpu.eip + insn.length) >>> 0, minSp: this.cpu.regs[4] >>> 0 };
      this.start(this.runToTemp(temp));
      this.armBreakpoints(temp);
      return;
    }
    const start = this.cpu.eip >>> 0;
    this.start(() => {
      const o = this.watches.length > 0 ? this.stepWatched(undefined, 1, true) : this.stepOne(false, undefined, true);
      const r = this.outcomeToResult(o);
      if (r !== undefined) return r;
      // A long rep string instruction runs in slices with EIP kept on it: step on to its end
      // (each slice is a job round, so a pause still reaches a rep with ECX = 0xffffffff).
      if (insn.isPlain && this.cpu.eip >>> 0 === start) return undefined;
      return this.stepStop();
    });
  }

  /** Step by source line: `over` runs calls through, `in` enters functions that have line info. */
  stepLine(mode: "over" | "in"): void {
    const start = this.info.lineAt(this.cpu.eip);
    if (!start) {
      this.stepInstruction(mode === "over");
      return;
    }
    const startSp = this.cpu.regs[4] >>> 0;
    let temp: Temp | undefined;
    let leftFunction = false;
    this.start(() => {
      for (let n = 0; n < 256; n++) {
        if (temp) {
          this.armBreakpoints(temp);
          const o = this.runChunk(RUN_CHUNK, temp);
          if (o.kind === "stop" || o.kind === "end") return this.outcomeToResult(o);
          if (o.kind !== "temp") return undefined;
          temp = undefined;
          this.armBreakpoints();
        } else {
          const eip = this.cpu.eip >>> 0;
          const sp = this.cpu.regs[4] >>> 0;
          const insn = this.currentInstruction();
          const site = this.wedgeCallSite(insn);
          if (mode === "over" && (temp = this.interruptReturn(insn, site)) !== undefined) continue;
          if (site === undefined && insn.isCall && (mode === "over" || (insn.branchTarget !== undefined && !this.info.lineAt(insn.branchTarget)))) {
            temp = { address: (eip + insn.length) >>> 0, minSp: sp };
            continue;
          }
          const o = site !== undefined ? this.stepThroughSite(site) : this.watches.length > 0 ? this.stepWatched(undefined, 1, true) : this.stepOne(false, undefined, true);
          if (o.kind === "stop" || o.kind === "end") return this.outcomeToResult(o);
          const now = this.cpu.eip >>> 0;
          // An interrupt or fault intervened before a fall-through instruction: run the handler to its return.
          if (insn.isPlain && now !== ((eip + insn.length) >>> 0) && now !== eip) {
            const landed = this.info.functionAt(now);
            if (landed !== this.info.functionAt(eip)) {
              temp = { address: eip, minSp: sp };
              continue;
            }
          }
          if (insn.isReturn && (this.cpu.regs[4] >>> 0) > startSp) leftFunction = true;
        }
        const eip = this.cpu.eip >>> 0;
        const loc = this.info.lineAt(eip);
        if (!loc) {
          if (leftFunction) return this.stepStop();
          continue;
        }
        if (!this.info.isLineStart(eip)) continue;
        if (leftFunction || loc.line !== start.line || loc.file !== start.file) return this.stepStop();
      }
      return undefined;
    });
  }

  /** Run until the current function returns to its caller. */
  stepOut(): void {
    // Inside the wedge (entry, stub, post): out means back to the guest, past the site it serves.
    const frame = this.guest.wedgeFrame();
    if (frame !== undefined) {
      const site = this.siteContaining(frame.site) ?? { start: frame.site, end: frame.site };
      this.start(() => this.outcomeToResult(this.stepThroughSite(site)) ?? this.stepStop());
      return;
    }
    const frames = walkStack(this.cpu, this.info, 2);
    if (frames.length < 2 || frames[0].returnSlot === undefined) {
      this.stepLine("over");
      return;
    }
    const temp = { address: frames[1].pc, minSp: (frames[0].returnSlot + 4) >>> 0 };
    this.start(this.runToTemp(temp));
    this.armBreakpoints(temp);
  }

  // ------------------------------------------------------------------ time travel

  get canStepBack(): boolean {
    return this.cpu.instructionCount > this.historyStart;
  }

  private travel(f: () => StopInfo): void {
    if (this.disposed) return;
    this.job = () => f();
    this.pauseRequested = false;
    setImmediate(this.tick);
  }

  stepBackInstruction(): void {
    this.travel(() => {
      const target = this.cpu.instructionCount - 1;
      if (target < this.historyStart) return { reason: "step", description: "At the start of the recorded history" };
      const inGuest = !inWedge(this.linear());
      this.replayTo(target);
      // From guest code, back over a site's call into the wedge (xen, l4) to the site, as a step
      // forward goes over it: one instruction back was the wedge's entry, inside its machinery.
      if (inGuest && inWedge(this.linear())) this.replayTo(this.lastGuestPositionBefore(target));
      return { reason: "step", description: `Stepped back to ${this.where(this.cpu.eip)}` };
    });
  }

  /** The linear address of `eip` (default: the current one) in the code segment. */
  private linear(eip = this.cpu.eip): number {
    return (this.cpu.segs[1].base + eip) >>> 0;
  }

  /** The last position before `end` (instructions retired) at which the guest was outside the wedge. */
  private lastGuestPositionBefore(end: number): number {
    for (let window = 256; ; window *= 8) {
      const from = Math.max(this.historyStart, end - window);
      const tr = this.trace(from, end);
      for (let i = tr.length - 1; i >= 0; i--) if (!inWedge(this.linear(tr[i].eip))) return tr[i].retired;
      if (from === this.historyStart) return end;
    }
  }

  stepBackLine(): void {
    const curLoc = this.info.lineAt(this.cpu.eip);
    if (!curLoc) {
      this.stepBackInstruction();
      return;
    }
    this.travel(() => {
      const cur = this.cpu.instructionCount;
      const curSp = this.cpu.regs[4] >>> 0;
      const curFn = this.info.functionAt(this.cpu.eip);
      const relevant = (p: { eip: number; esp: number }) => {
        const fn = this.info.functionAt(p.eip);
        return (fn === curFn && p.esp + 256 >= curSp) || p.esp > curSp + 4;
      };
      for (let window = 20_000; ; window *= 8) {
        const from = Math.max(this.historyStart, cur - window);
        const tr = this.trace(from, cur);
        let i = tr.length - 1;
        // back over the rest of the current line (and deeper calls)
        while (i >= 0) {
          const p = tr[i];
          const l = this.info.lineAt(p.eip);
          if (relevant(p) && l && (l.line !== curLoc.line || l.file !== curLoc.file)) break;
          i--;
        }
        if (i >= 0) {
          const line = this.info.lineAt(tr[i].eip)!;
          let startAt = i;
          for (let k = i - 1; k >= 0; k--) {
            const p = tr[k];
            if (!relevant(p)) continue;
            const l = this.info.lineAt(p.eip);
            if (!l || l.line !== line.line || l.file !== line.file) break;
            startAt = k;
          }
          this.replayTo(tr[startAt].retired);
          return { reason: "step", description: `Stepped back to ${this.where(this.cpu.eip)}` };
        }
        if (from === this.historyStart) {
          this.replayTo(from);
          return { reason: "step", description: "At the start of the recorded history" };
        }
      }
    });
  }

  reverseContinue(): void {
    this.travel(() => {
      const cur = this.cpu.instructionCount;
      let hi = cur;
      for (let k = this.lastCheckpointAtOrBefore(cur - 1); k >= 0; k--) {
        const hits = this.collectHits(k, hi);
        if (hits.length > 0) {
          const last = hits[hits.length - 1];
          this.replayTo(last.retired);
          return { reason: last.reason, description: `Paused on breakpoint at ${this.where(this.cpu.eip)} (reverse)`, breakpointIds: last.ids };
        }
        hi = this.checkpoints[k].retired;
        if (k === 0) break;
      }
      this.replayTo(this.historyStart);
      return { reason: "step", description: "Reverse continue reached the start of the recorded history" };
    });
  }

  /** Breakpoint stops (conditions evaluated, hit counts untouched) between checkpoint k and `hi`. */
  private collectHits(k: number, hi: number): { retired: number; ids: number[]; reason: StopReason }[] {
    this.restoreCheckpoint(k);
    const out: { retired: number; ids: number[]; reason: StopReason }[] = [];
    this.replaying = true;
    this.armBreakpoints();
    try {
      let guard = 0;
      while (this.cpu.instructionCount < hi && guard++ < 10_000_000) {
        const startCount = this.cpu.instructionCount;
        const startEip = this.cpu.eip >>> 0;
        const r = this.guest.run({ maxInstructions: Math.min(hi - startCount, this.interval) });
        this.maybeCheckpoint();
        if (r.reason === "breakpoint") {
          const eip = (r.eip ?? this.cpu.eip) >>> 0;
          if (this.cpu.instructionCount === startCount && eip === startEip && guard > 1) continue;
          if (this.cpu.instructionCount >= hi) break;
          const hit = this.breakpointsHit(eip, false);
          if (hit.length) out.push({ retired: this.cpu.instructionCount, ids: [...new Set(hit.map((b) => b.id))], reason: reasonFor(hit[0].kind) });
        } else if (r.reason === "exit" || r.reason === "triple-fault" || r.reason === "error" || r.reason === "reset") break;
      }
    } finally {
      this.replaying = false;
      this.pendingEvent = undefined;
    }
    return out;
  }

  /** The end of a run that stopped on a triple fault (after its exception stop). */
  get endedInfo(): EndInfo | undefined {
    return this.ended;
  }
}
