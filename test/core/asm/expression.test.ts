import { test } from "node:test";
import assert from "node:assert/strict";
import { analyseExpression, evaluateExpression } from "../../../core/asm/index.js";

test("literals in every base and char constants", () => {
  assert.equal(evaluateExpression("42"), 42);
  assert.equal(evaluateExpression("0x1F"), 31);
  assert.equal(evaluateExpression("0X10"), 16);
  assert.equal(evaluateExpression("017"), 15);
  assert.equal(evaluateExpression("0b101"), 5);
  assert.equal(evaluateExpression("0"), 0);
  assert.equal(evaluateExpression("'a"), 97);
  assert.equal(evaluateExpression("'a'"), 97);
  assert.equal(evaluateExpression("'\\n"), 10);
  assert.equal(evaluateExpression("-5"), -5);
});

test("operators with gas precedence", () => {
  assert.equal(evaluateExpression("1+2*3"), 7);
  assert.equal(evaluateExpression("(1+2)*3"), 9);
  assert.equal(evaluateExpression("1<<4|1"), 17);
  // In gas, | binds tighter than +: 1+2|4 is 1+(2|4).
  assert.equal(evaluateExpression("1+2|4"), 7);
  assert.equal(evaluateExpression("7!1"), -1); // or-not
  assert.equal(evaluateExpression("~0"), -1);
  assert.equal(evaluateExpression("!0"), 1);
  assert.equal(evaluateExpression("17%5"), 2);
  assert.equal(evaluateExpression("-7/2"), -3);
  assert.equal(evaluateExpression("0xff&0x0f^1"), 14);
  assert.equal(evaluateExpression("1<2"), -1); // gas: true is -1
  assert.equal(evaluateExpression("2<1"), 0);
  assert.equal(evaluateExpression("3==3"), -1);
  assert.equal(evaluateExpression("3<>3"), 0);
  assert.equal(evaluateExpression("1 && 0 || 1"), 1);
  assert.equal(evaluateExpression("1<<40"), 2 ** 40);
  assert.equal(evaluateExpression("0xffffffff+1"), 2 ** 32);
});

test("symbols: unresolved make the value undefined; given values are used", () => {
  assert.equal(evaluateExpression("foo+4"), undefined);
  assert.equal(evaluateExpression("foo+4", { foo: 6 }), 10);
  assert.equal(evaluateExpression("foo*bar", new Map([["foo", 3], ["bar", 5]])), 15);
  assert.deepEqual(analyseExpression("1b+2f").unresolved, ["1b", "2f"]);
  assert.equal(evaluateExpression("."), undefined);
});

test("errors are reported, never thrown", () => {
  assert.match(analyseExpression("1/0").error ?? "", /division by zero/);
  assert.match(analyseExpression("(1+2").error ?? "", /missing '\)'/);
  assert.match(analyseExpression("1 +").error ?? "", /missing operand/);
  assert.match(analyseExpression("1 2").error ?? "", /junk/);
  assert.match(analyseExpression("09").error ?? "", /bad number/);
  assert.equal(evaluateExpression("(".repeat(100000)), undefined);
  assert.equal(evaluateExpression(""), undefined);
});
