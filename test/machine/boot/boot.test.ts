import { test } from "node:test";
import assert from "node:assert/strict";
import { PhysicalMemory } from "../../../machine/memory.js";
import {
  aoutKludgeLoad,
  findMultibootHeader,
  MULTIBOOT_HEADER_MAGIC,
  writeMultibootInfo,
} from "../../../machine/boot/multiboot.js";
import { writeMpTables } from "../../../machine/boot/mp-table.js";
import { mapFirmware } from "../../../machine/boot/rom.js";

const MiB = 1024 * 1024;

function cstr(mem: PhysicalMemory, addr: number): string {
  let s = "";
  for (let a = addr; mem.read8(a) !== 0; a++) s += String.fromCharCode(mem.read8(a));
  return s;
}

function sum(mem: PhysicalMemory, addr: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s = (s + mem.read8(addr + i)) & 0xff;
  return s;
}

test("multiboot info: flags, memory sizes, command line, loader name, memory map with the holes", () => {
  const mem = new PhysicalMemory(64 * MiB);
  const info = writeMultibootInfo(mem, { cmdline: "console=ttyS0 quiet" });
  assert.ok(info < 0x100000);
  const flags = mem.read32(info);
  assert.equal(flags & 0x245, 0x245, "mem, cmdline, mmap, boot loader name");
  assert.equal(mem.read32(info + 4), 639);
  assert.equal(mem.read32(info + 8), 63 * 1024);
  assert.equal(cstr(mem, mem.read32(info + 16)), "console=ttyS0 quiet");
  assert.equal(cstr(mem, mem.read32(info + 64)), "Afterburner Studio");
  const len = mem.read32(info + 44);
  const addr = mem.read32(info + 48);
  const regions: { base: number; length: number; type: number }[] = [];
  for (let p = addr; p < addr + len; p += mem.read32(p) + 4) {
    regions.push({ base: mem.read32(p + 4), length: mem.read32(p + 12), type: mem.read32(p + 20) });
  }
  const usable = regions.filter((r) => r.type === 1);
  assert.deepEqual(usable, [
    { base: 0, length: 0x9fc00, type: 1 },
    { base: 0x100000, length: 63 * MiB, type: 1 },
  ]);
  assert.ok(regions.some((r) => r.type === 2 && r.base === 0xf0000 && r.length === 0x10000), "BIOS area reserved");
  for (const r of usable) assert.ok(r.base + r.length <= 0xa0000 || r.base >= 0x100000, "nothing usable in the hole");
});

/** Scan for the MP floating pointer the way a kernel does (16-byte steps over the BIOS area). */
function findFloating(mem: PhysicalMemory): number {
  for (let a = 0xf0000; a < 0x100000; a += 16) {
    if (mem.read32(a) === 0x5f504d5f && sum(mem, a, 16) === 0) return a;
  }
  return -1;
}

test("MP tables: floating pointer and configuration table are found, checksum to zero, and describe the PC", () => {
  const mem = new PhysicalMemory(16 * MiB);
  writeMpTables(mem);
  const fp = findFloating(mem);
  assert.notEqual(fp, -1);
  assert.equal(mem.read8(fp + 8), 1);
  assert.equal(mem.read8(fp + 9), 4);
  assert.equal(mem.read8(fp + 11), 0, "feature byte 1: a configuration table follows");
  const ct = mem.read32(fp + 4);
  assert.equal(String.fromCharCode(...mem.readBytes(ct, 4)), "PCMP");
  const length = mem.read16(ct + 4);
  assert.equal(sum(mem, ct, length), 0);
  assert.equal(mem.read32(ct + 36), 0xfee00000);
  const count = mem.read16(ct + 34);
  const procs = [];
  const buses = [];
  const ioapics = [];
  const ioints: [number, number, number][] = [];
  const lints: [number, number][] = [];
  let p = ct + 44;
  for (let i = 0; i < count; i++) {
    const type = mem.read8(p);
    if (type === 0) {
      procs.push({ id: mem.read8(p + 1), version: mem.read8(p + 2), flags: mem.read8(p + 3) });
      p += 20;
      continue;
    }
    if (type === 1) buses.push(String.fromCharCode(...mem.readBytes(p + 2, 6)).trim());
    if (type === 2) ioapics.push({ id: mem.read8(p + 1), version: mem.read8(p + 2), flags: mem.read8(p + 3), addr: mem.read32(p + 4) });
    if (type === 3) ioints.push([mem.read8(p + 1), mem.read8(p + 5), mem.read8(p + 7)]);
    if (type === 4) lints.push([mem.read8(p + 1), mem.read8(p + 7)]);
    p += 8;
  }
  assert.equal(p - ct, length, "entries fill the table exactly");
  assert.deepEqual(procs, [{ id: 0, version: 0x14, flags: 3 }]);
  assert.deepEqual(buses, ["ISA"]);
  assert.deepEqual(ioapics, [{ id: 1, version: 0x11, flags: 1, addr: 0xfec00000 }]);
  const isa = ioints.filter(([t]) => t === 0);
  assert.deepEqual(isa.find(([, irq]) => irq === 0), [0, 0, 2], "IRQ 0 on pin 2");
  for (let irq = 1; irq < 16; irq++) if (irq !== 2) assert.deepEqual(isa.find(([, i]) => i === irq), [0, irq, irq]);
  assert.deepEqual(ioints.filter(([t]) => t === 3), [[3, 0, 0]], "ExtINT on pin 0");
  assert.deepEqual(lints, [[3, 0], [1, 1]]);
});

function headerImage(prefix: number, flags: number, fields: number[] = []): Uint8Array {
  const img = new Uint8Array(prefix + 48 + 256);
  const dv = new DataView(img.buffer);
  dv.setUint32(prefix, MULTIBOOT_HEADER_MAGIC, true);
  dv.setUint32(prefix + 4, flags, true);
  dv.setUint32(prefix + 8, (-(MULTIBOOT_HEADER_MAGIC + flags)) >>> 0, true);
  fields.forEach((f, i) => dv.setUint32(prefix + 12 + i * 4, f, true));
  for (let i = prefix + 48; i < img.length; i++) img[i] = i & 0xff;
  return img;
}

test("multiboot header scanner: finds an aligned header with a valid checksum in the first 8 KiB only", () => {
  assert.equal(findMultibootHeader(headerImage(0x40, 0x3))?.offset, 0x40);
  const bad = headerImage(0x40, 0x3);
  bad[0x48] ^= 1;
  assert.equal(findMultibootHeader(bad), null, "checksum must hold");
  assert.equal(findMultibootHeader(headerImage(0x42, 0x3)), null, "must be 32-bit aligned");
  assert.equal(findMultibootHeader(headerImage(8192, 0x3)), null, "must start in the first 8 KiB");
});

test("a.out kludge: address fields give the load range, bss and entry", () => {
  // Header at file offset 0x20, header_addr 0x100020, load from 0x100000 (file offset 0).
  const img = headerImage(0x20, 0x10003, [0x100020, 0x100000, 0x100100, 0x100400, 0x10000c]);
  const h = findMultibootHeader(img)!;
  assert.deepEqual(h.addresses, { headerAddr: 0x100020, loadAddr: 0x100000, loadEndAddr: 0x100100, bssEndAddr: 0x100400, entryAddr: 0x10000c });
  const { segments, entry } = aoutKludgeLoad(img, h);
  assert.equal(entry, 0x10000c);
  assert.equal(segments.length, 1);
  assert.equal(segments[0].paddr, 0x100000);
  assert.equal(segments[0].bytes.length, 0x100);
  assert.equal(segments[0].memsz, 0x400);
  assert.equal(segments[0].bytes[0x20], 0x02, "the header's own bytes are at header_addr");
  // load_end_addr 0 means "to the end of the file".
  const whole = aoutKludgeLoad(img, findMultibootHeader(headerImage(0x20, 0x10003, [0x100020, 0x100000, 0, 0, 0x100000]))!);
  assert.equal(whole.segments[0].bytes.length, img.length);
});

test("ROM mapping: image at the top of 4 GiB and its last 64 KiB at 0xF0000", () => {
  const mem = new PhysicalMemory(16 * MiB);
  const rom = new Uint8Array(0x20000);
  for (let i = 0; i < rom.length; i++) rom[i] = (i * 7) & 0xff;
  mapFirmware(mem, rom);
  assert.equal(mem.read8(0xfffffff0), rom[rom.length - 16]);
  assert.equal(mem.read8(0xfffe0000), rom[0]);
  assert.equal(mem.read8(0xffff0), rom[rom.length - 16]);
  assert.equal(mem.read8(0xf0000), rom[rom.length - 0x10000]);
  mem.write8(0xffff0, 0x12);
  assert.equal(mem.read8(0xffff0), rom[rom.length - 16], "ROM ignores writes");
});

test("ROM mapping: an image over 64 KiB shows its last 128 KiB below 1 MiB, as a PC chipset (and QEMU) decodes 0xE0000-0xFFFFF", () => {
  // Firmware of 256 KiB (SeaBIOS) runs its early 32-bit code from 0xE0000-0xEFFFF before it can copy itself.
  const mem = new PhysicalMemory(16 * MiB);
  const rom = new Uint8Array(0x40000);
  for (let i = 0; i < rom.length; i++) rom[i] = (i * 13 + (i >>> 8)) & 0xff;
  mapFirmware(mem, rom);
  assert.equal(mem.read8(0xe0000), rom[rom.length - 0x20000]);
  assert.equal(mem.read8(0xef831), rom[rom.length - 0x20000 + 0xf831]);
  assert.equal(mem.read8(0xffff0), rom[rom.length - 16]);
  mem.write8(0xe1234, rom[rom.length - 0x20000 + 0x1234] ^ 0xff);
  assert.equal(mem.read8(0xe1234), rom[rom.length - 0x20000 + 0x1234], "ROM ignores writes");
  // 64 KiB or less keeps the one 64 KiB window: 0xE0000 stays RAM.
  const small = new PhysicalMemory(16 * MiB);
  mapFirmware(small, new Uint8Array(0x10000).fill(0xc3));
  small.write8(0xe0000, 0x5a);
  assert.equal(small.read8(0xe0000), 0x5a);
  assert.equal(small.read8(0xf0000), 0xc3);
});
