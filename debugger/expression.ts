// Expressions for breakpoint conditions, the watch/hover/REPL `evaluate` request and data
// breakpoint targets. C-like over 32-bit unsigned values:
//   numbers 42 0x2a · registers eax ax al eip eflags cr0 cs ... (optionally $ or % prefixed)
//   symbols (their address) · *addr and [addr] (32-bit load) · u8(a) u16(a) u32(a)
//   unary - ~ ! · binary * / % + - << >> < <= > >= == != & ^ | && || · parentheses.

export class ExpressionError extends Error {}

export interface EvalContext {
  register(name: string): number | undefined;
  symbol(name: string): number | undefined;
  read(address: number, size: 1 | 2 | 4): number;
}

type Token = { kind: "num"; value: number } | { kind: "id"; value: string } | { kind: "op"; value: string } | { kind: "end" };

const OPS = ["<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", "<", ">", "&", "^", "|", "!", "~", "(", ")", "[", "]", ","];

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(0x[0-9a-f]+|\d+)/i.exec(text.slice(i));
    if (num) {
      const value = num[1].toLowerCase().startsWith("0x") ? parseInt(num[1], 16) : parseInt(num[1], 10);
      // Wrapped silently, 0x100000000 was 0 (and 99999999999 some other number).
      if (value > 0xffffffff) throw new ExpressionError(`${num[1]} does not fit in 32 bits (at column ${i + 1} in '${text}')`);
      out.push({ kind: "num", value });
      i += num[1].length;
      continue;
    }
    // Right after an operand, % is the remainder operator (eax%ecx), not an AT&T register prefix.
    const prev = out[out.length - 1];
    const afterOperand = prev !== undefined && (prev.kind === "num" || prev.kind === "id" || (prev.kind === "op" && (prev.value === ")" || prev.value === "]")));
    const id = (afterOperand ? /^[$]?[A-Za-z_.][A-Za-z0-9_.$]*/ : /^[$%]?[A-Za-z_.][A-Za-z0-9_.$]*/).exec(text.slice(i));
    if (id) {
      out.push({ kind: "id", value: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (!op) throw new ExpressionError(`unexpected '${c}' at column ${i + 1} in '${text}'`);
    out.push({ kind: "op", value: op });
    i += op.length;
  }
  out.push({ kind: "end" });
  return out;
}

const BINARY: Record<string, number> = {
  "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
};

/** Operands nested deeper than this are refused: far deeper ran the parser out of stack. */
const MAX_NESTING = 256;

export function evaluate(text: string, ctx: EvalContext): number {
  const toks = tokenize(text);
  let p = 0;
  let depth = 0;
  const peek = () => toks[p];
  const expectOp = (v: string) => {
    const t = toks[p];
    if (t.kind !== "op" || t.value !== v) throw new ExpressionError(`expected '${v}' in '${text}'`);
    p++;
  };
  const primary = (): number => {
    if (++depth > MAX_NESTING) throw new ExpressionError(`the expression nests more than ${MAX_NESTING} deep`);
    try {
      return operand();
    } finally {
      depth--;
    }
  };
  const operand = (): number => {
    const t = toks[p++];
    if (t.kind === "num") return t.value;
    if (t.kind === "id") {
      const name = t.value;
      const fn = /^u(8|16|32)$/.exec(name);
      if (fn && peek().kind === "op" && (peek() as { value: string }).value === "(") {
        p++;
        const a = expr(0);
        expectOp(")");
        return ctx.read(a, (Number(fn[1]) / 8) as 1 | 2 | 4) >>> 0;
      }
      const bare = name.replace(/^[$%]/, "");
      const r = ctx.register(bare.toLowerCase());
      if (r !== undefined) return r >>> 0;
      const s = ctx.symbol(bare);
      if (s !== undefined) return s >>> 0;
      throw new ExpressionError(`unknown register or symbol '${name}'`);
    }
    if (t.kind === "op") {
      switch (t.value) {
        case "(": {
          const v = expr(0);
          expectOp(")");
          return v;
        }
        case "[": {
          const v = expr(0);
          expectOp("]");
          return ctx.read(v, 4) >>> 0;
        }
        case "-":
          return -primary() >>> 0;
        case "~":
          return ~primary() >>> 0;
        case "!":
          return primary() ? 0 : 1;
        case "*":
          return ctx.read(primary(), 4) >>> 0;
      }
    }
    throw new ExpressionError(`incomplete expression '${text}'`);
  };
  const expr = (minPrec: number): number => {
    let left = primary();
    for (;;) {
      const t = peek();
      if (t.kind !== "op") break;
      const prec = BINARY[t.value];
      if (prec === undefined || prec <= minPrec) break;
      p++;
      if (t.value === "&&" && !left) {
        expr(prec);
        left = 0;
        continue;
      }
      if (t.value === "||" && left) {
        expr(prec);
        left = 1;
        continue;
      }
      const right = expr(prec);
      left = apply(t.value, left >>> 0, right >>> 0);
    }
    return left >>> 0;
  };
  const v = expr(0);
  if (peek().kind !== "end") throw new ExpressionError(`unexpected text after the expression in '${text}'`);
  return v >>> 0;
}

function apply(op: string, a: number, b: number): number {
  switch (op) {
    case "+": return (a + b) >>> 0;
    case "-": return (a - b) >>> 0;
    case "*": return Math.imul(a, b) >>> 0;
    case "/": if (b === 0) throw new ExpressionError("division by zero"); return Math.floor(a / b) >>> 0;
    case "%": if (b === 0) throw new ExpressionError("division by zero"); return a % b;
    case "<<": return (a << (b & 31)) >>> 0;
    case ">>": return a >>> (b & 31);
    case "<": return a < b ? 1 : 0;
    case "<=": return a <= b ? 1 : 0;
    case ">": return a > b ? 1 : 0;
    case ">=": return a >= b ? 1 : 0;
    case "==": return a === b ? 1 : 0;
    case "!=": return a !== b ? 1 : 0;
    case "&": return (a & b) >>> 0;
    case "^": return (a ^ b) >>> 0;
    case "|": return (a | b) >>> 0;
    case "&&": return a && b ? 1 : 0;
    case "||": return a || b ? 1 : 0;
  }
  throw new ExpressionError(`unknown operator ${op}`);
}

/** A hit condition: "5" / "== 5" (the 5th hit), ">= 5", "> 5", "% 5" (every 5th). */
export function hitConditionMet(condition: string, hits: number): boolean {
  const m = /^\s*(==|>=|>|<=|<|%)?\s*(\d+)\s*$/.exec(condition);
  if (!m) throw new ExpressionError(`hit condition '${condition}' is not one of N, == N, >= N, > N, <= N, < N, % N`);
  const n = Number(m[2]);
  switch (m[1]) {
    case undefined:
    case "==": return hits === n;
    case ">=": return hits >= n;
    case ">": return hits > n;
    case "<=": return hits <= n;
    case "<": return hits < n;
    case "%": return n > 0 && hits % n === 0;
  }
  return false;
}
