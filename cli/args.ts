// A small, strict argument parser: unknown options are usage errors, never silently ignored.

export class UsageError extends Error {}

export interface OptionSpec {
  /** Takes a value (`--out FILE`, `-o FILE`, `--out=FILE`). */
  value?: boolean;
  /** May be given several times (values collected). */
  repeat?: boolean;
  /** Other spellings, e.g. ["-o"]. */
  aliases?: string[];
}

export interface ParsedArgs {
  options: Map<string, string[]>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const byName = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) {
    byName.set(name, name);
    for (const a of s.aliases ?? []) byName.set(a, name);
  }
  const options = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    const name = byName.get(key);
    if (!name) throw new UsageError(`unknown option ${key}`);
    const s = spec[name];
    let value = "";
    if (s.value) {
      if (eq > 0) value = arg.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new UsageError(`${key} needs a value`);
    } else if (eq > 0) {
      throw new UsageError(`${key} takes no value`);
    }
    const list = options.get(name) ?? [];
    if (list.length > 0 && !s.repeat && s.value) throw new UsageError(`${key} given twice`);
    list.push(value);
    options.set(name, list);
  }
  return { options, positionals };
}

export function flag(a: ParsedArgs, name: string): boolean {
  return a.options.has(name);
}

export function value(a: ParsedArgs, name: string): string | undefined {
  const v = a.options.get(name);
  return v?.[v.length - 1];
}

export function intValue(a: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = value(a, name);
  if (v === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} expects a whole number from ${min} to ${max}, got '${v}'`);
  return n;
}
