// The ROM path: a raw firmware image is mapped at the top of the 4 GiB space and its last 64 KiB
// also at 0xF0000, so the reset vector F000:FFF0 (linear 0xFFFF0) reaches the image's last 16 bytes.

export interface RomMemory {
  mapRom(base: number, bytes: Uint8Array): void;
}

export const ROM_LOW_BASE = 0xf0000;
export const ROM_LOW_SIZE = 0x10000;

export function mapFirmware(mem: RomMemory, image: Uint8Array): { highBase: number } {
  if (image.length === 0 || image.length > 16 * 1024 * 1024) throw new RangeError(`ROM image size ${image.length} is out of range`);
  const highBase = 2 ** 32 - image.length;
  mem.mapRom(highBase, image);
  // Short images sit at the top of the low window, padded below with 0xFF as in an erased flash.
  const low = new Uint8Array(ROM_LOW_SIZE).fill(0xff);
  const tail = image.subarray(Math.max(0, image.length - ROM_LOW_SIZE));
  low.set(tail, ROM_LOW_SIZE - tail.length);
  mem.mapRom(ROM_LOW_BASE, low);
  return { highBase };
}
