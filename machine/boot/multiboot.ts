// Multiboot v1: the header a kernel image carries (scanner) and the information structure a
// loader hands over in EBX (writer). Layouts follow the Multiboot 0.6.96 specification.

import {
  BOOT_LOADER_NAME_ADDR,
  CMDLINE_ADDR,
  CMDLINE_MAX,
  MULTIBOOT_INFO_ADDR,
  MULTIBOOT_MMAP_ADDR,
  pcMemoryMap,
} from "./layout.js";

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header must lie 32-bit aligned within the first 8 KiB of the image. */
export const MULTIBOOT_SEARCH = 8192;

export const MB_HEADER_PAGE_ALIGN = 1 << 0;
export const MB_HEADER_MEMORY_INFO = 1 << 1;
export const MB_HEADER_VIDEO_MODE = 1 << 2;
export const MB_HEADER_AOUT_KLUDGE = 1 << 16;

export const MB_INFO_MEMORY = 1 << 0;
export const MB_INFO_CMDLINE = 1 << 2;
export const MB_INFO_MEM_MAP = 1 << 6;
export const MB_INFO_BOOT_LOADER_NAME = 1 << 9;

export const BOOT_LOADER_NAME = "Afterburner Studio";

export interface MultibootHeader {
  /** Byte offset of the header in the image. */
  offset: number;
  flags: number;
  checksumValid: boolean;
  /** Present when flags bit 16 (a.out kludge) is set. */
  addresses?: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number };
  video?: { modeType: number; width: number; height: number; depth: number };
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Find the multiboot header in the first 8 KiB; only headers with a valid checksum count. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | null {
  const end = Math.min(image.length, MULTIBOOT_SEARCH) - 12;
  for (let o = 0; o <= end; o += 4) {
    if (u32(image, o) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = u32(image, o + 4);
    const checksum = u32(image, o + 8);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) continue;
    const h: MultibootHeader = { offset: o, flags, checksumValid: true };
    if (flags & MB_HEADER_AOUT_KLUDGE && o + 32 <= image.length) {
      h.addresses = {
        headerAddr: u32(image, o + 12),
        loadAddr: u32(image, o + 16),
        loadEndAddr: u32(image, o + 20),
        bssEndAddr: u32(image, o + 24),
        entryAddr: u32(image, o + 28),
      };
    }
    if (flags & MB_HEADER_VIDEO_MODE && o + 48 <= image.length) {
      h.video = { modeType: u32(image, o + 32), width: u32(image, o + 36), height: u32(image, o + 40), depth: u32(image, o + 44) };
    }
    return h;
  }
  return null;
}

export interface LoadSegment {
  paddr: number;
  bytes: Uint8Array;
  /** Size in memory; the tail beyond bytes.length is zeroed. */
  memsz: number;
}

/**
 * The load described by a header's address fields (a.out kludge): the image from the file offset
 * matching load_addr up to load_end_addr (0: end of file), zero-filled up to bss_end_addr.
 */
export function aoutKludgeLoad(image: Uint8Array, header: MultibootHeader): { segments: LoadSegment[]; entry: number } {
  const a = header.addresses;
  if (!a) throw new Error("multiboot header has no address fields (flags bit 16 clear)");
  if (a.headerAddr < a.loadAddr) throw new Error("multiboot header_addr below load_addr");
  const fileStart = header.offset - (a.headerAddr - a.loadAddr);
  if (fileStart < 0) throw new Error("multiboot load_addr lies before the start of the image");
  const loadSize = a.loadEndAddr ? a.loadEndAddr - a.loadAddr : image.length - fileStart;
  if (loadSize < 0 || fileStart + loadSize > image.length) throw new Error("multiboot load_end_addr beyond the image");
  const memsz = a.bssEndAddr ? Math.max(a.bssEndAddr - a.loadAddr, loadSize) : loadSize;
  return {
    segments: [{ paddr: a.loadAddr, bytes: image.subarray(fileStart, fileStart + loadSize), memsz }],
    entry: a.entryAddr,
  };
}

/** Something that can take loader writes (PhysicalMemory). */
export interface BootMemory {
  readonly size: number;
  writeBytes(addr: number, bytes: Uint8Array): void;
}

export interface MultibootInfoOptions {
  cmdline?: string;
}

/** Write the multiboot information structure; returns its physical address (for EBX). */
export function writeMultibootInfo(mem: BootMemory, options: MultibootInfoOptions = {}): number {
  const enc = new TextEncoder();
  const map = pcMemoryMap(mem.size);
  const mmap = new DataView(new ArrayBuffer(map.length * 24));
  map.forEach((r, i) => {
    const o = i * 24;
    mmap.setUint32(o, 20, true); // size of the entry, not counting this field
    mmap.setUint32(o + 4, r.base >>> 0, true);
    mmap.setUint32(o + 8, Math.floor(r.base / 2 ** 32), true);
    mmap.setUint32(o + 12, r.length >>> 0, true);
    mmap.setUint32(o + 16, Math.floor(r.length / 2 ** 32), true);
    mmap.setUint32(o + 20, r.type, true);
  });
  mem.writeBytes(MULTIBOOT_MMAP_ADDR, new Uint8Array(mmap.buffer));

  const name = enc.encode(BOOT_LOADER_NAME + "\0");
  mem.writeBytes(BOOT_LOADER_NAME_ADDR, name);
  let cmd = enc.encode(options.cmdline ?? "");
  if (cmd.length > CMDLINE_MAX) cmd = cmd.subarray(0, CMDLINE_MAX);
  const cmdZ = new Uint8Array(cmd.length + 1);
  cmdZ.set(cmd);
  mem.writeBytes(CMDLINE_ADDR, cmdZ);

  const info = new DataView(new ArrayBuffer(88));
  info.setUint32(0, MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MEM_MAP | MB_INFO_BOOT_LOADER_NAME, true);
  info.setUint32(4, 639, true); // mem_lower (KiB), the EBDA excluded
  info.setUint32(8, Math.max(0, Math.floor(mem.size / 1024) - 1024), true); // mem_upper: KiB from 1 MiB
  info.setUint32(12, 0xffffffff, true); // boot_device: none (not flagged)
  info.setUint32(16, CMDLINE_ADDR, true);
  info.setUint32(44, map.length * 24, true);
  info.setUint32(48, MULTIBOOT_MMAP_ADDR, true);
  info.setUint32(64, BOOT_LOADER_NAME_ADDR, true);
  mem.writeBytes(MULTIBOOT_INFO_ADDR, new Uint8Array(info.buffer));
  return MULTIBOOT_INFO_ADDR;
}
