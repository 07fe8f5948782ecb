// The ROM path: a raw firmware image is mapped at the top of the 4 GiB space and its tail also
// below 1 MiB, so the reset vector F000:FFF0 (linear 0xFFFF0) reaches the image's last 16 bytes.
// An image over 64 KiB shows its last 128 KiB at 0xE0000, as a PC chipset decodes the BIOS area
// at reset (QEMU maps min(size, 128 KiB)): larger firmware runs code from 0xE0000-0xEFFFF before
// it can copy itself anywhere. Smaller images keep the one 64 KiB window at 0xF0000.

export interface RomMemory {
  mapRom(base: number, bytes: Uint8Array): void;
}

export const ROM_LOW_BASE = 0xf0000;
export const ROM_LOW_SIZE = 0x10000;
/** The low window of an image larger than ROM_LOW_SIZE: 0xE0000-0xFFFFF. */
export const ROM_LOW_SIZE_LARGE = 0x20000;

export function mapFirmware(mem: RomMemory, image: Uint8Array): { highBase: number } {
  if (image.length === 0 || image.length > 16 * 1024 * 1024) throw new RangeError(`ROM image size ${image.length} is out of range`);
  const highBase = 2 ** 32 - image.length;
  mem.mapRom(highBase, image);
  const size = image.length > ROM_LOW_SIZE ? ROM_LOW_SIZE_LARGE : ROM_LOW_SIZE;
  // Short images sit at the top of the low window, padded below with 0xFF as in an erased flash.
  const low = new Uint8Array(size).fill(0xff);
  const tail = image.subarray(Math.max(0, image.length - size));
  low.set(tail, size - tail.length);
  mem.mapRom(ROM_LOW_BASE + ROM_LOW_SIZE - size, low);
  return { highBase };
}
