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

test("the launch configuration is checked value by value, the value shown in the message", () => {
  const cases: [string, unknown, string | undefined][] = [
    ["launch", { program: "k.elf", maxInstructions: "abc" }, 'maxInstructions must be a whole number of instructions, 0 or more (0: no budget) (got "abc" (a string))'],
    ["launch", { program: "k.elf", maxInstructions: 0.5 }, "maxInstructions must be a whole number of instructions, 0 or more (0: no budget) (got 0.5)"],
    ["launch", { program: "k.elf", maxInstructions: -5 }, "maxInstructions must be a whole number of instructions, 0 or more (0: no budget) (got -5)"],
    ["launch", { program: "k.elf", maxInstructions: 2 ** 60 }, `maxInstructions must be a whole number of instructions, 0 or more (0: no budget) (got ${2 ** 60})`],
    ["launch", { program: "k.elf", maxInstructions: 0 }, undefined],
    ["launch", { program: "k.elf", maxInstructions: 20_000 }, undefined],
    ["launch", { program: "k.elf", memory: "64" }, 'memory must be a whole number of MiB from 2 to 3072 (got "64" (a string))'],
    ["launch", { program: "k.elf", memory: 1 }, "memory must be a whole number of MiB from 2 to 3072 (got 1)"],
    ["launch", { program: "k.elf", args: "-O2" }, 'args must be a list of strings, one argument each (got "-O2" (a string))'],
    ["launch", { program: ["a.c", "b.S"], args: ["-O2"] }, undefined],
    ["launch", { program: 42 }, "program must be a file path or a non-empty list of file paths (got 42)"],
    ["launch", { program: [] }, "program must be a file path or a non-empty list of file paths (got an array)"],
    ["launch", { program: "k.elf", postPort: [0x80, 0x10000] }, "postPort must be a port number (0-0xffff) or a list of them (got an array)"],
    ["launch", { program: "k.elf", postPort: 0x80 }, undefined],
    ["launch", { program: "k.elf", vtx: { hltExiting: "no" } }, 'vtx.hltExiting must be true or false (got "no" (a string))'],
    ["launch", { program: "k.elf", breakOnTrap: "yes" }, 'breakOnTrap must be true, false or a list of exception filter ids (got "yes" (a string))'],
    ["launch", { program: "k.elf", cmdline: 5 }, "cmdline must be a string (got an integer)"],
    ["launch", null, "the arguments are missing (got null): launch needs the launch configuration (program or rom, backend, ...)"],
    ["initialize", null, "the arguments are missing (got null): initialize needs the client's capabilities (adapterID, pathFormat, ...)"],
    ["restart", { arguments: { program: "k.elf", memory: "64" } }, 'arguments.memory must be a whole number of MiB from 2 to 3072 (got "64" (a string))'],
    ["restart", {}, undefined],
    ["writeMemory", { memoryReference: "0x1000", data: "AA==", allowPartial: 1 }, "allowPartial must be true or false (got an integer)"],
  ];
  for (const [command, args, expected] of cases) assert.equal(argumentProblem(command, args), expected, `${command} ${JSON.stringify(args)}`);
});
