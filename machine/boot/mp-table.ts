// Intel MultiProcessor Specification 1.4 tables: a floating pointer structure ("_MP_") in the
// BIOS area pointing at a configuration table ("PCMP") that announces one processor with its local
// APIC, an ISA bus, the I/O APIC, the ISA interrupt assignments (IRQ 0 on pin 2, as on PCs; the
// 8259 as ExtINT on pin 0) and the local interrupts (ExtINT on LINT0, NMI on LINT1).

import { IOAPIC_BASE, IOAPIC_ID, IOAPIC_VERSION, isaIrqToPin } from "../devices/io-apic.js";
import { LAPIC_BASE, LAPIC_VERSION } from "../devices/local-apic.js";
import { MP_CONFIG_ADDR, MP_FLOATING_ADDR } from "./layout.js";
import type { BootMemory } from "./multiboot.js";

export const MP_ENTRY_PROCESSOR = 0;
export const MP_ENTRY_BUS = 1;
export const MP_ENTRY_IOAPIC = 2;
export const MP_ENTRY_IO_INTERRUPT = 3;
export const MP_ENTRY_LOCAL_INTERRUPT = 4;
export const MP_INT = 0;
export const MP_NMI = 1;
export const MP_EXTINT = 3;

/** CPUID signature written in the processor entry (family 6). */
export const MP_CPU_SIGNATURE = 0x0000_0600;
/** CPUID feature flags written in the processor entry: FPU and APIC on chip. */
export const MP_CPU_FEATURES = (1 << 0) | (1 << 9);

function checksum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) & 0xff;
  return (256 - s) & 0xff;
}

function ascii(view: Uint8Array, at: number, text: string, width: number): void {
  for (let i = 0; i < width; i++) view[at + i] = i < text.length ? text.charCodeAt(i) : 0x20;
}

export interface MpTables {
  floating: Uint8Array;
  config: Uint8Array;
}

/** Build both structures for placement at the given addresses. */
export function buildMpTables(configAddr = MP_CONFIG_ADDR, lapicId = 0): MpTables {
  const entries: Uint8Array[] = [];
  const processor = new Uint8Array(20);
  const pv = new DataView(processor.buffer);
  processor[0] = MP_ENTRY_PROCESSOR;
  processor[1] = lapicId;
  processor[2] = LAPIC_VERSION;
  processor[3] = 0x03; // enabled, bootstrap processor
  pv.setUint32(4, MP_CPU_SIGNATURE, true);
  pv.setUint32(8, MP_CPU_FEATURES, true);
  entries.push(processor);

  const bus = new Uint8Array(8);
  bus[0] = MP_ENTRY_BUS;
  bus[1] = 0;
  ascii(bus, 2, "ISA", 6);
  entries.push(bus);

  const ioapic = new Uint8Array(8);
  ioapic[0] = MP_ENTRY_IOAPIC;
  ioapic[1] = IOAPIC_ID;
  ioapic[2] = IOAPIC_VERSION;
  ioapic[3] = 0x01; // usable
  new DataView(ioapic.buffer).setUint32(4, IOAPIC_BASE, true);
  entries.push(ioapic);

  const ioInt = (type: number, irq: number, pin: number) => {
    const e = new Uint8Array(8);
    e[0] = MP_ENTRY_IO_INTERRUPT;
    e[1] = type;
    // flags (2 bytes) 0: polarity and trigger conform to the bus (ISA: active high, edge)
    e[4] = 0; // source bus: ISA
    e[5] = irq;
    e[6] = IOAPIC_ID;
    e[7] = pin;
    entries.push(e);
  };
  ioInt(MP_EXTINT, 0, 0); // the 8259's INTR on pin 0
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue; // the cascade: pin 2 carries IRQ 0
    ioInt(MP_INT, irq, isaIrqToPin(irq));
  }

  const localInt = (type: number, lint: number) => {
    const e = new Uint8Array(8);
    e[0] = MP_ENTRY_LOCAL_INTERRUPT;
    e[1] = type;
    e[4] = 0;
    e[5] = 0;
    e[6] = 0xff; // all local APICs
    e[7] = lint;
    entries.push(e);
  };
  localInt(MP_EXTINT, 0);
  localInt(MP_NMI, 1);

  const bodyLength = entries.reduce((n, e) => n + e.length, 0);
  const config = new Uint8Array(44 + bodyLength);
  const cv = new DataView(config.buffer);
  ascii(config, 0, "PCMP", 4);
  cv.setUint16(4, config.length, true);
  config[6] = 4; // spec revision 1.4
  ascii(config, 8, "AFTERBRN", 8);
  ascii(config, 16, "STUDIO PC", 12);
  cv.setUint32(28, 0, true); // OEM table pointer
  cv.setUint16(32, 0, true); // OEM table size
  cv.setUint16(34, entries.length, true);
  cv.setUint32(36, LAPIC_BASE, true);
  cv.setUint16(40, 0, true); // extended table length
  let o = 44;
  for (const e of entries) {
    config.set(e, o);
    o += e.length;
  }
  config[7] = checksum(config);

  const floating = new Uint8Array(16);
  ascii(floating, 0, "_MP_", 4);
  new DataView(floating.buffer).setUint32(4, configAddr, true);
  floating[8] = 1; // length in 16-byte paragraphs
  floating[9] = 4; // spec revision 1.4
  floating[11] = 0; // feature byte 1: a configuration table is present
  floating[12] = 0; // feature byte 2: no IMCR, virtual-wire mode
  floating[10] = checksum(floating);
  return { floating, config };
}

/** Write the MP structures into the BIOS area; returns the floating pointer's address. */
export function writeMpTables(mem: BootMemory, lapicId = 0): number {
  const t = buildMpTables(MP_CONFIG_ADDR, lapicId);
  mem.writeBytes(MP_FLOATING_ADDR, t.floating);
  mem.writeBytes(MP_CONFIG_ADDR, t.config);
  return MP_FLOATING_ADDR;
}
