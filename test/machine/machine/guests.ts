// Small guests assembled at test time with GNU as + ld into a flat image loaded at 1 MiB.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const LOAD_ADDR = 0x100000;

/** Shared routines: COM1 output, IDT gates, exit. Guests start at _start after this prelude's jump. */
export const PRELUDE = `
.code32
.text
.globl _start
_start:
  mov $0x200000, %esp     # multiboot leaves no stack
  lgdt gdtr               # nor a GDT the guest may rely on
  ljmp $0x08, $1f
1:mov $0x10, %cx
  mov %cx, %ds
  mov %cx, %es
  mov %cx, %ss
  jmp main

.p2align 3
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
gdtr:
  .word 3*8-1
  .long gdt

# putc: %al to COM1 once THR is empty
putc:
  push %edx
  push %eax
1:mov $0x3fd, %dx
  in %dx, %al
  test $0x20, %al
  jz 1b
  pop %eax
  mov $0x3f8, %dx
  out %al, %dx
  pop %edx
  ret

# puts: NUL-terminated string at %esi
puts:
  push %eax
1:lodsb
  test %al, %al
  jz 2f
  call putc
  jmp 1b
2:pop %eax
  ret

# putdec: %eax as decimal
putdec:
  pusha
  mov $10, %ecx
  xor %ebx, %ebx
1:xor %edx, %edx
  div %ecx
  push %edx
  inc %ebx
  test %eax, %eax
  jnz 1b
2:pop %eax
  add $'0', %al
  call putc
  dec %ebx
  jnz 2b
  popa
  ret

# set_gate: vector %eax, handler %ebx (32-bit interrupt gate, DPL 0)
set_gate:
  push %edi
  push %edx
  lea idt(,%eax,8), %edi
  mov %ebx, %edx
  mov %dx, (%edi)
  mov %cs, %dx
  mov %dx, 2(%edi)
  movw $0x8e00, 4(%edi)
  shr $16, %edx
  mov %dx, 6(%edi)
  pop %edx
  pop %edi
  ret

load_idt:
  lidt idtr
  ret

# exit: status in %eax
exit:
  mov $0xf4, %dx
  out %eax, %dx
  cli
  hlt

# init_pic: vectors 0x20/0x28, all masked except the cascade
init_pic:
  mov $0x11, %al
  out %al, $0x20
  out %al, $0xa0
  mov $0x20, %al
  out %al, $0x21
  mov $0x28, %al
  out %al, $0xa1
  mov $4, %al
  out %al, $0x21
  mov $2, %al
  out %al, $0xa1
  mov $1, %al
  out %al, $0x21
  out %al, $0xa1
  mov $0xfb, %al
  out %al, $0x21
  mov $0xff, %al
  out %al, $0xa1
  ret

.p2align 3
idtr:
  .word 256*8-1
  .long idt
.p2align 3
idt:
  .space 256*8
`;

/** Assemble `body` (after the prelude) into a flat binary linked at 1 MiB. */
export function buildGuest(body: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "ab-guest-"));
  try {
    const src = join(dir, "guest.s");
    writeFileSync(src, PRELUDE + body + "\n");
    execFileSync("as", ["--32", "-o", join(dir, "guest.o"), src]);
    execFileSync("ld", ["-m", "elf_i386", "-Ttext", "0x100000", "-e", "_start", "--oformat", "binary", "-o", join(dir, "guest.bin"), join(dir, "guest.o")]);
    return new Uint8Array(readFileSync(join(dir, "guest.bin")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
