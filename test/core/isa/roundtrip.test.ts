// The two keys of every catalogue entry agree: each entry's example, assembled by GNU as and decoded by iced-x86,
// is classified as the same entry from its text (core/asm parse) and from its machine form, and iced's Code is
// one of the entry's icedCodes. Then the padding contract: shortest encoding + padding ≥ the rewrite's room, and
// each rewrite sequence, assembled, is exactly as long as the room it claims.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, Decoder, DecoderOptions, Instruction } from "iced-x86";
import { parseAsm } from "../../../core/asm/index.js";
import type { InstructionStatement } from "../../../core/asm/types.js";
import {
  CATALOGUE,
  classify,
  entryForForm,
  paddingFor,
  roomFor,
  VCPU_LAYOUT,
  type CatalogueEntry,
} from "../../../core/isa/index.js";
import { assembleSnippets } from "./gas.js";
import { formFromBytes } from "./x86-form.js";

type Bits = 32 | 64;

function example(e: CatalogueEntry, mode: Bits): string | undefined {
  return mode === 32 ? e.example.att32 : e.example.att64;
}

function parseOne(text: string, mode: Bits): InstructionStatement {
  const f = parseAsm(text + "\n", { mode });
  const insns = f.statements.map((s) => s.statement).filter((s): s is InstructionStatement => s.kind === "instruction");
  assert.equal(insns.length, 1, `"${text}" should parse as one instruction`);
  return insns[0]!;
}

/** Length without legacy prefixes and REX: a lower bound for the shortest encoding of the same form. */
function coreLength(bytes: Uint8Array, mode: Bits): number {
  let i = 0;
  const legacy = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
  while (legacy.has(bytes[i]!)) i++;
  if (mode === 64 && (bytes[i]! & 0xf0) === 0x40) i++;
  return bytes.length - i;
}

const VCPU_BASE = 0x00c00000;
const WEDGE_ENTRY = 0x00d00000;

function substitute(line: string): string {
  return line
    .replace(/@vcpu\.(\w+)(?:\+(\d+))?/g, (_, field: string, plus?: string) => {
      const off = (VCPU_LAYOUT as Record<string, number>)[field];
      if (off === undefined) throw new Error(`unknown vCPU field ${field} in "${line}"`);
      return "0x" + (VCPU_BASE + off + Number(plus ?? 0)).toString(16);
    })
    .replace(/@wedge/g, "0x" + WEDGE_ENTRY.toString(16));
}

for (const mode of [32, 64] as const) {
  const entries = CATALOGUE.filter((e) => example(e, mode) !== undefined);
  const assembled = assembleSnippets(entries.map((e) => example(e, mode)!), mode);

  test(`${mode}-bit: every entry valid in this mode has an example, and only those`, () => {
    for (const e of CATALOGUE) {
      const valid = e.modes.includes(mode === 64 ? "x86-64" : "ia32");
      assert.equal(example(e, mode) !== undefined, valid, `${e.id}: example presence vs modes`);
    }
  });

  test(`${mode}-bit: examples decode to the entry's iced Code and machine form`, () => {
    const ins = new Instruction();
    try {
      entries.forEach((e, i) => {
        const { source, bytes } = assembled[i]!;
        const dec = new Decoder(mode, bytes, DecoderOptions.None);
        try {
          dec.decodeOut(ins);
        } finally {
          dec.free();
        }
        assert.equal(ins.isInvalid, false, `${e.id}: "${source}" decodes`);
        assert.equal(ins.length, bytes.length, `${e.id}: "${source}" is one instruction`);
        const code = Code[ins.code];
        assert.ok(e.icedCodes.includes(code!), `${e.id}: "${source}" is ${code}, not in [${e.icedCodes.join(", ")}]`);
        const form = formFromBytes(bytes, mode);
        assert.equal(entryForForm(form, mode)?.id, e.id, `${e.id}: machine form ${JSON.stringify(form)} of "${source}"`);
      });
    } finally {
      ins.free();
    }
  });

  test(`${mode}-bit: text classification of each example gives the same entry`, () => {
    for (const e of entries) {
      const text = example(e, mode)!;
      assert.equal(classify(parseOne(text, mode), mode)?.id, e.id, `"${text}"`);
    }
  });

  test(`${mode}-bit: padding contract (shortest encoding + padding ≥ room)`, () => {
    entries.forEach((e, i) => {
      const shortest = coreLength(assembled[i]!.bytes, mode);
      const pad = paddingFor(e, mode);
      const room = roomFor(e, mode);
      assert.ok(shortest + pad >= room, `${e.id}: ${shortest} + ${pad} < ${room} in ${mode}-bit code`);
    });
  });

  test(`${mode}-bit: each rewrite sequence assembles to exactly its room`, () => {
    const withSeq = entries.filter((e) => (mode === 32 ? e.rewrite.asm32 : e.rewrite.asm64) !== undefined);
    const seqs = withSeq.map((e) => (mode === 32 ? e.rewrite.asm32 : e.rewrite.asm64)!.map(substitute).join("\n"));
    const out = assembleSnippets(seqs, mode);
    withSeq.forEach((e, i) => {
      assert.equal(out[i]!.bytes.length, roomFor(e, mode), `${e.id}: ${seqs[i]!.replace(/\n/g, "; ")}`);
    });
    // Inline rewrites must spell out their sequence for every mode the entry exists in.
    for (const e of entries) {
      if (e.rewrite.kind === "inline") {
        assert.ok((mode === 32 ? e.rewrite.asm32 : e.rewrite.asm64) !== undefined, `${e.id}: inline rewrite without asm${mode}`);
      } else {
        assert.equal(roomFor(e, mode), 5, `${e.id}: a call-out needs exactly call rel32`);
      }
    }
  });
}
