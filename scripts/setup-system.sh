#!/usr/bin/env bash
# Installs the system packages Afterburner Studio needs on Debian/Ubuntu.
#   bash scripts/setup-system.sh            gcc, binutils (as, ld, objdump), make
#   bash scripts/setup-system.sh --qemu     also qemu-system-i386 and qemu-i386 (outside oracles for the example
#                                           guests and, where the kernel cannot run i386 ELF, the CPU differential test)
#   bash scripts/setup-system.sh --e2e      also Chromium and code-server's build needs (end-to-end suite)
# Run as root, or with sudo available. Without either it prints the command to run and exits 1.
set -euo pipefail

want_qemu=0; want_e2e=0
for a in "$@"; do
  case "$a" in
    --qemu) want_qemu=1 ;;
    --e2e) want_e2e=1 ;;
    *) echo "setup-system: unknown option $a" >&2; exit 2 ;;
  esac
done

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have gcc || missing+=(gcc)
{ have as && have ld && have objdump && have objcopy; } || missing+=(binutils)
have make || missing+=(make)
# gcc -m32 for freestanding guests needs only the compiler's own 32-bit support; check it works.
if have gcc && ! echo 'int f(void){return 1;}' | gcc -m32 -ffreestanding -x c -c -o /dev/null - 2>/dev/null; then
  missing+=(gcc-multilib)
fi
if [ "$want_qemu" = 1 ] && ! have qemu-system-i386; then missing+=(qemu-system-x86); fi
# qemu-i386 runs the CPU differential test's 32-bit batches where the kernel cannot execute i386 ELF.
if [ "$want_qemu" = 1 ] && ! have qemu-i386; then missing+=(qemu-user); fi
if [ "$want_e2e" = 1 ]; then
  have chromium || missing+=(chromium)
  have rg || missing+=(ripgrep)
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev pkg-config)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all system packages present"
  exit 0
fi

echo "setup-system: installing ${missing[*]}"
if [ "$(id -u)" = 0 ]; then SUDO=(); elif have sudo; then SUDO=(sudo); else
  echo "setup-system: not root and no sudo; run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
