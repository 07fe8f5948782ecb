import { test } from "node:test";
import assert from "node:assert/strict";
import { CGA_TEXT_BASE, CgaText, cp437 } from "../../../machine/devices/cga-text.js";
import { IoBus } from "../../../machine/io.js";

function setup() {
  const ram = new Uint8Array(0x100000);
  const cga = new CgaText((a, n) => ram.slice(a, a + n));
  const io = new IoBus();
  cga.attach(io);
  const put = (row: number, col: number, text: string) => {
    for (let i = 0; i < text.length; i++) {
      ram[CGA_TEXT_BASE + (row * 80 + col + i) * 2] = text.charCodeAt(i);
      ram[CGA_TEXT_BASE + (row * 80 + col + i) * 2 + 1] = 0x07;
    }
  };
  return { ram, cga, io, put };
}

test("captureText renders 80×25 from character/attribute pairs", () => {
  const { cga, put } = setup();
  put(0, 0, "Hello");
  put(24, 75, "end!!");
  const text = cga.captureText();
  const rows = text.split("\n");
  assert.equal(rows.length, 25);
  assert.ok(rows.every((r) => r.length === 80));
  assert.equal(rows[0].slice(0, 5), "Hello");
  assert.equal(rows[24].slice(75), "end!!");
  assert.equal(cga.captureText({ trim: true }).split("\n")[0], "Hello");
});

test("code page 437 glyphs", () => {
  assert.equal(cp437(0xc9), "╔");
  assert.equal(cp437(0x01), "☺");
  assert.equal(cp437(0x41), "A");
});

test("CRTC cursor and start address through 0x3D4/0x3D5", () => {
  const { cga, io, put } = setup();
  io.write(0x3d4, 1, 0x0e);
  io.write(0x3d5, 1, 0x00);
  io.write(0x3d4, 1, 0x0f);
  io.write(0x3d5, 1, 83);
  assert.deepEqual(cga.cursor, { offset: 83, row: 1, column: 3, visible: true });
  io.write(0x3d4, 1, 0x0f);
  assert.equal(io.read(0x3d5, 1), 83);
  put(1, 0, "second");
  io.write(0x3d4, 1, 0x0c);
  io.write(0x3d5, 1, 0);
  io.write(0x3d4, 1, 0x0d);
  io.write(0x3d5, 1, 80); // scroll by one row
  assert.equal(cga.captureText({ trim: true }).split("\n")[0], "second");
});
