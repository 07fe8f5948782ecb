// Where the boot path puts things in low memory, and the PC memory map it reports.

/** Multiboot information structure and its satellites (below 1 MiB, clear of the IVT/BDA). */
export const MULTIBOOT_INFO_ADDR = 0x9000;
export const MULTIBOOT_MMAP_ADDR = 0x9100;
export const BOOT_LOADER_NAME_ADDR = 0x9400;
export const CMDLINE_ADDR = 0x9500;
export const CMDLINE_MAX = 0x9fc00 - CMDLINE_ADDR - 1;
/** MP floating pointer (16-byte aligned in the BIOS area) and the configuration table after it. */
export const MP_FLOATING_ADDR = 0xf0000;
export const MP_CONFIG_ADDR = 0xf0010;

export const LOW_MEMORY_END = 0x9fc00; // 639 KiB: the last KiB is the EBDA
export const BIOS_AREA = 0xf0000;
export const ONE_MIB = 0x100000;

export interface MemoryRegion {
  base: number;
  length: number;
  /** 1 available, 2 reserved (multiboot / E820 types). */
  type: 1 | 2;
}

/** The E820-style map of a PC with `ramBytes` of RAM: the 640 KiB hole and the BIOS area are reserved. */
export function pcMemoryMap(ramBytes: number): MemoryRegion[] {
  const map: MemoryRegion[] = [
    { base: 0, length: LOW_MEMORY_END, type: 1 },
    { base: LOW_MEMORY_END, length: 0xa0000 - LOW_MEMORY_END, type: 2 },
    { base: BIOS_AREA, length: ONE_MIB - BIOS_AREA, type: 2 },
  ];
  if (ramBytes > ONE_MIB) map.push({ base: ONE_MIB, length: ramBytes - ONE_MIB, type: 1 });
  map.push({ base: 0xfec00000, length: 0x1000, type: 2 }, { base: 0xfee00000, length: 0x1000, type: 2 });
  return map;
}
