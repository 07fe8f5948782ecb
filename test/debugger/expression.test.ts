import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { evaluate, ExpressionError, hitConditionMet, type EvalContext } from "../../debugger/expression.js";

const memory = new Map<number, number>([
  [0x1000, 0x78],
  [0x1001, 0x56],
  [0x1002, 0x34],
  [0x1003, 0x12],
]);
const ctx: EvalContext = {
  register: (n) => ({ eax: 5, esp: 0x1000, al: 5 })[n],
  symbol: (n) => ({ counter: 0x1000 })[n],
  read: (a, size) => {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (memory.get(a + i) ?? 0);
    return v;
  },
};

describe("debugger expressions", () => {
  it("evaluates registers, symbols, loads and C operators as unsigned 32-bit values", () => {
    assert.equal(evaluate("eax", ctx), 5);
    assert.equal(evaluate("$eax + %eax * 2", ctx), 15);
    assert.equal(evaluate("counter", ctx), 0x1000);
    assert.equal(evaluate("*counter", ctx), 0x12345678);
    assert.equal(evaluate("[esp]", ctx), 0x12345678);
    assert.equal(evaluate("u8(counter + 1)", ctx), 0x56);
    assert.equal(evaluate("u16(counter)", ctx), 0x5678);
    assert.equal(evaluate("-1", ctx), 0xffffffff);
    assert.equal(evaluate("eax == 5 && (esp & 0xfff) == 0", ctx), 1);
    assert.equal(evaluate("eax != 5 || 0", ctx), 0);
    assert.equal(evaluate("1 << 31 >> 31", ctx), 1);
    assert.equal(evaluate("7 % 4 + 10 / 3", ctx), 6);
    assert.equal(evaluate("!eax", ctx), 0);
    assert.equal(evaluate("~0", ctx), 0xffffffff);
  });

  it("reads % right after an operand as the remainder, elsewhere as a register prefix", () => {
    const regs = { ...ctx, register: (n: string) => ({ eax: 17, ecx: 5 })[n] };
    assert.equal(evaluate("eax%ecx", regs), 2);
    assert.equal(evaluate("eax % %ecx", regs), 2);
    assert.equal(evaluate("(eax+1)%ecx", regs), 3);
    assert.equal(evaluate("%eax%%ecx", regs), 2);
    assert.equal(evaluate("%ecx", regs), 5);
    assert.equal(evaluate("20%7", regs), 6);
  });

  it("names what it does not understand", () => {
    assert.throws(() => evaluate("nosuch + 1", ctx), (e: Error) => e instanceof ExpressionError && /unknown register or symbol 'nosuch'/.test(e.message));
    assert.throws(() => evaluate("1 +", ctx), ExpressionError);
    assert.throws(() => evaluate("(1", ctx), /expected '\)'/);
    assert.throws(() => evaluate("1 / 0", ctx), /division by zero/);
    assert.throws(() => evaluate("1 @ 2", ctx), /unexpected '@'/);
  });

  it("refuses numbers beyond 32 bits and nesting beyond its depth, with an ExpressionError, instead of wrapping or overflowing the stack", () => {
    assert.equal(evaluate("0xffffffff", ctx), 0xffffffff);
    assert.equal(evaluate("4294967295", ctx), 0xffffffff);
    for (const text of ["0x100000000", "99999999999", "eax + 0x1ffffffff"]) {
      assert.throws(() => evaluate(text, ctx), (e: Error) => e instanceof ExpressionError && /does not fit in 32 bits/.test(e.message), text);
    }
    assert.equal(evaluate("(".repeat(100) + "eax" + ")".repeat(100), ctx), 5);
    assert.equal(evaluate("-".repeat(100) + "1", ctx), 1);
    for (const text of ["(".repeat(20000) + "1" + ")".repeat(20000), "-".repeat(20000) + "1", "*".repeat(20000) + "counter"]) {
      assert.throws(() => evaluate(text, ctx), (e: Error) => e instanceof ExpressionError && /nests more than/.test(e.message), text.slice(0, 10));
    }
  });

  it("reads hit conditions", () => {
    assert.equal(hitConditionMet("3", 3), true);
    assert.equal(hitConditionMet("3", 4), false);
    assert.equal(hitConditionMet(">= 3", 4), true);
    assert.equal(hitConditionMet("% 2", 4), true);
    assert.equal(hitConditionMet("% 2", 3), false);
    assert.throws(() => hitConditionMet("often", 1), /hit condition 'often'/);
  });
});
