// Statements back to canonical AT&T text (used for previews and round-trip tests).

import type { InstructionStatement, Operand } from "./types.js";

export function renderOperand(op: Operand): string {
  switch (op.kind) {
    case "reg":
      return `${op.indirect ? "*" : ""}%${op.reg}`;
    case "imm":
      return `$${op.text}`;
    case "mem": {
      let s = op.indirect ? "*" : "";
      if (op.segment !== undefined) s += `%${op.segment}:`;
      s += op.disp;
      if (op.base !== undefined || op.index !== undefined) {
        s += "(";
        if (op.base !== undefined) s += `%${op.base}`;
        if (op.index !== undefined) s += `,%${op.index}${op.scale !== undefined ? `,${op.scale}` : ""}`;
        s += ")";
      }
      return s;
    }
  }
}

/** `lock incl 4(%eax)`: prefixes, mnemonic and operands with single spaces and ", " between operands. */
export function renderInstruction(ins: InstructionStatement): string {
  let s = "";
  for (const p of ins.prefixes) s += `${p.name} `;
  s += ins.mnemonic;
  if (ins.operands.length > 0) s += ` ${ins.operands.map(renderOperand).join(", ")}`;
  return s;
}
