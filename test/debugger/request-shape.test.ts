// Request arguments are checked against the protocol's shapes before a handler sees them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { argumentProblem } from "../../debugger/request-shape.js";

test("malformed arguments are named by path and kind; well-formed ones and unknown commands pass", () => {
  const cases: [string, unknown, string | undefined][] = [
    ["setFunctionBreakpoints", { breakpoints: null }, "breakpoints must be an array (got null)"],
    ["setFunctionBreakpoints", { breakpoints: [{ name: 5 }] }, "breakpoints[0].name must be a string (got an integer)"],
    ["setFunctionBreakpoints", {}, "breakpoints is missing"],
    ["setFunctionBreakpoints", { breakpoints: [{ name: "main", condition: "x > 1" }] }, undefined],
    ["setBreakpoints", { source: { path: "a.c" }, breakpoints: [{ line: 1.5 }] }, "breakpoints[0].line must be an integer (got a number)"],
    ["setBreakpoints", { source: "a.c" }, "source must be an object (got a string)"],
    ["setBreakpoints", { source: { path: 3 } }, "source.path must be a string (got an integer)"],
    ["setExceptionBreakpoints", { filters: [3] }, "filters[0] must be a string (got an integer)"],
    ["readMemory", { memoryReference: 0, count: 4 }, "memoryReference must be a string (got an integer)"],
    ["readMemory", { memoryReference: "0x1000", count: 2 ** 53 }, "count must be an integer (got a number)"],
    ["disassemble", { memoryReference: "0x1000", instructionCount: 10, resolveSymbols: "x" }, "resolveSymbols must be true or false (got a string)"],
    ["evaluate", "eax", "the arguments must be an object (got a string)"],
    ["evaluate", undefined, "expression is missing"],
    ["stackTrace", { threadId: 1, levels: 20 }, undefined],
    ["continue", {}, undefined],
    ["afterburnScreen", null, undefined],
  ];
  for (const [command, args, expected] of cases) assert.equal(argumentProblem(command, args), expected, `${command} ${JSON.stringify(args)}`);
});
