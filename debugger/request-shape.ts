// The shape of each request's arguments as the Debug Adapter Protocol gives it, checked before the
// request is handled: a client that sends `breakpoints: null` or a number where a name goes gets
// "setFunctionBreakpoints: breakpoints[0].name must be a string", not a JavaScript TypeError.
// Only what the handlers rely on is checked; unknown fields pass. The launch configuration is
// checked here too, value by value, since a nonsense budget or memory size would otherwise reach
// the emulator (a string budget made the run loop spin forever).

import { MAX_MEMORY_MIB, MIN_MEMORY_MIB } from "./guest-types.js";

type Kind = "string" | "integer" | "boolean" | "object";

interface Field {
  kind: Kind | "array" | "custom";
  required?: boolean;
  /** Array elements (kind "array"): a scalar kind or an object's fields. */
  items?: Kind | Fields;
  /** Object fields (kind "object"). */
  fields?: Fields;
  /** Kind "custom": what is wrong with the value ("must be ... (got ...)"), or undefined. */
  check?: (v: unknown) => string | undefined;
}
type Fields = Record<string, Field>;

const opt = (kind: Kind): Field => ({ kind });
const req = (kind: Kind): Field => ({ kind, required: true });
const list = (items: Kind | Fields, required = false): Field => ({ kind: "array", items, required });
const custom = (check: (v: unknown) => string | undefined): Field => ({ kind: "custom", check });

/** A value as a message shows it: `"64" (a string)`, `-5`, `0.5`, `null`, `an object`. */
export function describeValue(v: unknown): string {
  if (typeof v === "string") return `${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v)} (a string)`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return kindOf(v);
}

const isPort = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff;

/** The launch configuration (contract B, docs/debugging.md), also the `arguments` of a restart. */
const LAUNCH: Fields = {
  program: custom((v) =>
    typeof v === "string" || (Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === "string"))
      ? undefined
      : `must be a file path or a non-empty list of file paths (got ${describeValue(v)})`,
  ),
  rom: opt("string"),
  backend: opt("string"),
  stopOnEntry: opt("boolean"),
  memory: custom((v) =>
    Number.isSafeInteger(v) && (v as number) >= MIN_MEMORY_MIB && (v as number) <= MAX_MEMORY_MIB
      ? undefined
      : `must be a whole number of MiB from ${MIN_MEMORY_MIB} to ${MAX_MEMORY_MIB} (got ${describeValue(v)})`,
  ),
  // 0 is no budget, as when it is left out.
  maxInstructions: custom((v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : `must be a whole number of instructions, 0 or more (0: no budget) (got ${describeValue(v)})`)),
  postPort: custom((v) => (isPort(v) || (Array.isArray(v) && v.every(isPort)) ? undefined : `must be a port number (0-0xffff) or a list of them (got ${describeValue(v)})`)),
  vtx: custom((v) => {
    if (!fits(v, "object")) return `must be an object of VT-x controls, each true or false (got ${describeValue(v)})`;
    const bad = Object.entries(v as Record<string, unknown>).find(([, x]) => typeof x !== "boolean");
    return bad ? `.${bad[0]} must be true or false (got ${describeValue(bad[1])})` : undefined;
  }),
  cmdline: opt("string"),
  args: custom((v) => (Array.isArray(v) && v.every((a) => typeof a === "string") ? undefined : `must be a list of strings, one argument each (got ${describeValue(v)})`)),
  breakOnTrap: custom((v) =>
    typeof v === "boolean" || (Array.isArray(v) && v.every((a) => typeof a === "string")) ? undefined : `must be true, false or a list of exception filter ids (got ${describeValue(v)})`,
  ),
  cwd: opt("string"),
  trace: opt("boolean"),
  noDebug: opt("boolean"),
};

/** Requests whose arguments the protocol requires (a null there is not "no options"). */
const ARGUMENTS_REQUIRED: Record<string, string> = {
  initialize: "the client's capabilities (adapterID, pathFormat, ...)",
  launch: "the launch configuration (program or rom, backend, ...)",
};

const thread: Fields = { threadId: opt("integer") };
const stepping: Fields = { threadId: opt("integer"), granularity: opt("string") };
const conditions = { condition: opt("string"), hitCondition: opt("string") };

const SHAPES: Record<string, Fields> = {
  initialize: { clientID: opt("string"), adapterID: opt("string"), linesStartAt1: opt("boolean"), columnsStartAt1: opt("boolean"), pathFormat: opt("string"), locale: opt("string") },
  launch: LAUNCH,
  restart: { arguments: { kind: "object", fields: LAUNCH } },
  setBreakpoints: {
    source: { kind: "object", required: true, fields: { path: opt("string"), sourceReference: opt("integer") } },
    breakpoints: list({ line: req("integer"), column: opt("integer"), ...conditions, logMessage: opt("string") }),
    lines: list("integer"),
  },
  setFunctionBreakpoints: { breakpoints: list({ name: req("string"), ...conditions }, true) },
  setInstructionBreakpoints: { breakpoints: list({ instructionReference: req("string"), offset: opt("integer"), ...conditions }, true) },
  setDataBreakpoints: { breakpoints: list({ dataId: req("string"), accessType: opt("string"), ...conditions }, true) },
  dataBreakpointInfo: { name: req("string"), variablesReference: opt("integer"), frameId: opt("integer") },
  setExceptionBreakpoints: { filters: list("string", true), filterOptions: list({ filterId: req("string"), condition: opt("string") }) },
  exceptionInfo: thread,
  continue: thread,
  pause: thread,
  reverseContinue: thread,
  next: stepping,
  stepIn: stepping,
  stepOut: stepping,
  stepBack: stepping,
  stackTrace: { threadId: opt("integer"), startFrame: opt("integer"), levels: opt("integer") },
  scopes: { frameId: req("integer") },
  variables: { variablesReference: req("integer"), filter: opt("string"), start: opt("integer"), count: opt("integer") },
  setVariable: { variablesReference: req("integer"), name: req("string"), value: req("string") },
  evaluate: { expression: req("string"), frameId: opt("integer"), context: opt("string") },
  readMemory: { memoryReference: req("string"), offset: opt("integer"), count: req("integer") },
  writeMemory: { memoryReference: req("string"), offset: opt("integer"), data: req("string"), allowPartial: opt("boolean") },
  disassemble: { memoryReference: req("string"), offset: opt("integer"), instructionOffset: opt("integer"), instructionCount: req("integer"), resolveSymbols: opt("boolean") },
};

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number") return Number.isSafeInteger(v) ? "an integer" : "a number";
  return `a ${typeof v}`;
}

function fits(v: unknown, kind: Kind): boolean {
  switch (kind) {
    case "integer":
      return Number.isSafeInteger(v);
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    default:
      return typeof v === kind;
  }
}

const NAME: Record<Kind | "array", string> = { string: "a string", integer: "an integer", boolean: "true or false", object: "an object", array: "an array" };

function checkFields(value: Record<string, unknown>, fields: Fields, path: string): string | undefined {
  for (const [name, f] of Object.entries(fields)) {
    const v = value[name];
    const at = path ? `${path}.${name}` : name;
    if (v === undefined) {
      if (f.required) return `${at} is missing`;
      continue;
    }
    if (f.kind === "custom") {
      const problem = f.check?.(v);
      if (problem) return `${at}${problem.startsWith(".") ? "" : " "}${problem}`;
      continue;
    }
    if (f.kind === "array") {
      if (!Array.isArray(v)) return `${at} must be an array (got ${kindOf(v)})`;
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (typeof f.items === "string") {
          if (!fits(item, f.items)) return `${at}[${i}] must be ${NAME[f.items]} (got ${kindOf(item)})`;
        } else if (f.items) {
          if (!fits(item, "object")) return `${at}[${i}] must be an object (got ${kindOf(item)})`;
          const problem = checkFields(item as Record<string, unknown>, f.items, `${at}[${i}]`);
          if (problem) return problem;
        }
      }
      continue;
    }
    if (!fits(v, f.kind)) return `${at} must be ${NAME[f.kind]} (got ${kindOf(v)})`;
    if (f.fields) {
      const problem = checkFields(v as Record<string, unknown>, f.fields, at);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** What is wrong with a request's arguments, or undefined when the handler can take them. */
export function argumentProblem(command: string, args: unknown): string | undefined {
  const fields = SHAPES[command];
  if (!fields) return undefined;
  if (args === undefined || args === null) {
    const needed = ARGUMENTS_REQUIRED[command];
    return needed ? `the arguments are missing (${args === null ? "got null" : "none given"}): ${command} needs ${needed}` : checkFields({}, fields, "");
  }
  if (!fits(args, "object")) return `the arguments must be an object (got ${kindOf(args)})`;
  return checkFields(args as Record<string, unknown>, fields, "");
}
