// The JSON the extension reads from other processes: `afterburn run --json` (schema
// "afterburn-run") and the trap ledger report (schema "afterburn-ledger", contract A). Both come
// from a child process, so they are checked here and bad input becomes a clear RunJsonError
// instead of a crash somewhere in a view. Plain module: no vscode import.

export const EVENT_KINDS = [
  "trap",
  "vm-exit",
  "hypercall",
  "ipc",
  "wedge-call",
  "inline",
  "hole",
  "missed-site",
  "exception",
  "triple-fault",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const BACKEND_NAMES = ["raw", "trap", "vtx", "xen", "l4"] as const;
export type Backend = (typeof BACKEND_NAMES)[number];

export interface SiteLocation {
  address: number;
  symbol?: string;
  file?: string;
  line?: number;
}

/** One event as the wedge's ledger records it (live, from the debug adapter's afterburnLedger event). */
export interface LedgerEvent {
  kind: EventKind;
  site: number;
  catalogueId?: string;
  detail: string;
  cycles: number;
  instruction: number;
}

export interface LedgerSite extends SiteLocation {
  catalogueId: string;
  mnemonic: string;
  events: Partial<Record<EventKind, number>>;
  cycles: number;
}

export interface LedgerHole extends SiteLocation {
  catalogueId: string;
  detail: string;
}

export interface LedgerReport {
  schema: "afterburn-ledger";
  version: 1;
  backend: string;
  instructions: number;
  cycles: number;
  events: Partial<Record<EventKind, { count: number; cycles: number }>>;
  sites: LedgerSite[];
  missedSites: SiteLocation[];
  holes: LedgerHole[];
}

export interface RunOutcome {
  reason: string;
  exitCode?: number;
  instructions: number;
  message: string;
}

export interface BackendRun {
  backend: string;
  result: RunOutcome;
  console: string;
  ledger?: LedgerReport;
  overheadVsRaw?: number;
}

export interface RunJson {
  program: string;
  runs: BackendRun[];
}

export class RunJsonError extends Error {}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: Json, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new RunJsonError(`${where}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function str(v: Json, where: string): string {
  if (typeof v !== "string") throw new RunJsonError(`${where}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function optStr(v: Json, where: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, where);
}

function optNum(v: Json, where: string): number | undefined {
  return v === undefined || v === null ? undefined : num(v, where);
}

function location(v: Json, where: string): SiteLocation {
  if (!isObject(v)) throw new RunJsonError(`${where}: expected an object`);
  return {
    address: num(v.address, `${where}.address`),
    symbol: optStr(v.symbol, `${where}.symbol`),
    file: optStr(v.file, `${where}.file`),
    line: optNum(v.line, `${where}.line`),
  };
}

function isEventKind(k: string): k is EventKind {
  return (EVENT_KINDS as readonly string[]).includes(k);
}

/** Checks a ledger report (schema "afterburn-ledger" version 1). Unknown event kinds are kept out, not fatal. */
export function parseLedgerReport(v: Json, where = "ledger"): LedgerReport {
  if (!isObject(v)) throw new RunJsonError(`${where}: expected an object`);
  if (v.schema !== "afterburn-ledger") throw new RunJsonError(`${where}: schema is ${JSON.stringify(v.schema)}, expected "afterburn-ledger"`);
  if (v.version !== 1) throw new RunJsonError(`${where}: version ${JSON.stringify(v.version)} is not supported (expected 1)`);
  const events: LedgerReport["events"] = {};
  if (!isObject(v.events)) throw new RunJsonError(`${where}.events: expected an object`);
  for (const [k, e] of Object.entries(v.events)) {
    if (!isEventKind(k)) continue;
    if (!isObject(e)) throw new RunJsonError(`${where}.events.${k}: expected { count, cycles }`);
    events[k] = { count: num(e.count, `${where}.events.${k}.count`), cycles: num(e.cycles, `${where}.events.${k}.cycles`) };
  }
  const arr = (x: Json, name: string): Json[] => {
    if (x === undefined) return [];
    if (!Array.isArray(x)) throw new RunJsonError(`${where}.${name}: expected an array`);
    return x;
  };
  const sites = arr(v.sites, "sites").map((s, i): LedgerSite => {
    const w = `${where}.sites[${i}]`;
    if (!isObject(s)) throw new RunJsonError(`${w}: expected an object`);
    const counts: LedgerSite["events"] = {};
    if (isObject(s.events)) {
      for (const [k, c] of Object.entries(s.events)) if (isEventKind(k)) counts[k] = num(c, `${w}.events.${k}`);
    }
    return {
      ...location(s, w),
      catalogueId: str(s.catalogueId ?? "", `${w}.catalogueId`),
      mnemonic: str(s.mnemonic ?? "", `${w}.mnemonic`),
      events: counts,
      cycles: num(s.cycles ?? 0, `${w}.cycles`),
    };
  });
  return {
    schema: "afterburn-ledger",
    version: 1,
    backend: str(v.backend, `${where}.backend`),
    instructions: num(v.instructions ?? 0, `${where}.instructions`),
    cycles: num(v.cycles ?? 0, `${where}.cycles`),
    events,
    sites,
    missedSites: arr(v.missedSites, "missedSites").map((s, i) => location(s, `${where}.missedSites[${i}]`)),
    holes: arr(v.holes, "holes").map((h, i) => {
      const w = `${where}.holes[${i}]`;
      if (!isObject(h)) throw new RunJsonError(`${w}: expected an object`);
      return { ...location(h, w), catalogueId: str(h.catalogueId ?? "", `${w}.catalogueId`), detail: str(h.detail ?? "", `${w}.detail`) };
    }),
  };
}

function outcome(v: Json, where: string): RunOutcome {
  if (!isObject(v)) throw new RunJsonError(`${where}: expected an object`);
  return {
    reason: str(v.reason, `${where}.reason`),
    exitCode: optNum(v.exitCode, `${where}.exitCode`),
    instructions: num(v.instructions ?? 0, `${where}.instructions`),
    message: str(v.message ?? "", `${where}.message`),
  };
}

/**
 * Reads `afterburn run --json` output. Version 2 (contract A) has one entry per backend with its
 * ledger; version 1 (before the wedge: one raw run, no ledger) is read as a single run.
 */
export function parseRunJson(text: string, source = "afterburn run --json"): RunJson {
  let v: Json;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const head = text.trim().slice(0, 200);
    throw new RunJsonError(`${source}: not JSON (${(e as Error).message})${head ? `: ${head}` : ": empty output"}`);
  }
  if (!isObject(v) || v.schema !== "afterburn-run") throw new RunJsonError(`${source}: not an "afterburn-run" document`);
  if (v.version === 1) {
    return {
      program: str(v.program ?? "", `${source}.program`),
      runs: [{ backend: str(v.backend ?? "raw", `${source}.backend`), result: outcome(v, source), console: str(v.console ?? "", `${source}.console`) }],
    };
  }
  if (v.version !== 2) throw new RunJsonError(`${source}: version ${JSON.stringify(v.version)} is not supported (expected 1 or 2)`);
  if (!Array.isArray(v.runs)) throw new RunJsonError(`${source}.runs: expected an array`);
  return {
    program: str(v.program ?? "", `${source}.program`),
    runs: v.runs.map((r, i) => {
      const w = `${source}.runs[${i}]`;
      if (!isObject(r)) throw new RunJsonError(`${w}: expected an object`);
      return {
        backend: str(r.backend, `${w}.backend`),
        result: outcome(r.result, `${w}.result`),
        console: str(r.console ?? "", `${w}.console`),
        ledger: r.ledger === undefined || r.ledger === null ? undefined : parseLedgerReport(r.ledger, `${w}.ledger`),
        overheadVsRaw: optNum(r.overheadVsRaw, `${w}.overheadVsRaw`),
      };
    }),
  };
}

/** Checks the body of the adapter's "afterburnLedger" event; malformed events are dropped, never thrown. */
export function parseLedgerEvents(body: Json): { backend: string; events: LedgerEvent[] } | undefined {
  if (!isObject(body) || typeof body.backend !== "string" || !Array.isArray(body.events)) return undefined;
  const events: LedgerEvent[] = [];
  for (const e of body.events) {
    if (!isObject(e) || typeof e.kind !== "string" || !isEventKind(e.kind) || typeof e.site !== "number") continue;
    events.push({
      kind: e.kind,
      site: e.site,
      catalogueId: typeof e.catalogueId === "string" ? e.catalogueId : undefined,
      detail: typeof e.detail === "string" ? e.detail : "",
      cycles: typeof e.cycles === "number" && Number.isFinite(e.cycles) ? e.cycles : 0,
      instruction: typeof e.instruction === "number" ? e.instruction : 0,
    });
  }
  return { backend: body.backend, events };
}

export function hex(address: number): string {
  return `0x${(address >>> 0).toString(16).padStart(8, "0")}`;
}

/** "hello.S:42" / "puts+0x12" / "0x00100123": the best short name of a site. */
export function siteLabel(s: SiteLocation): string {
  if (s.file && s.line) return `${s.file.split(/[\\/]/).pop()}:${s.line}`;
  if (s.symbol) return s.symbol;
  return hex(s.address);
}
