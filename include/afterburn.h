/*
 * afterburn.h — annotations for code built with afterburn-cc, harmless in a plain build.
 *
 * afterburn-cc defines __AFTERBURN__ and puts this directory on the include path
 * (#include <afterburn.h>). Without it the macros expand to the plain instruction or to nothing,
 * so the same source builds with gcc alone.
 *
 * Assembly (.S):
 *   AFTERBURN_NOANNOTATE / AFTERBURN_ANNOTATE   leave a region's sensitive instructions unpadded
 *   AFTERBURN_MEMOP(pte_set)                     annotate the next instruction as a page-table store
 * C:
 *   AFTERBURN_PTE_SET(ptep, val)   *ptep = val, annotated into .afterburn.pte_set
 *   AFTERBURN_PTE_READ(ptep)       *ptep, annotated into .afterburn.pte_read
 *   AFTERBURN_PGD_SET(pgdp, val)   *pgdp = val, annotated into .afterburn.pgd_set
 * Kinds: pte_set pmd_set pgd_set pte_read pte_read_clear pgd_read pte_test_clear ioapic_write
 * ioapic_read lapic_write lapic_xchg lapic_read dp83820_write dp83820_read (see `afterburn --help`).
 */
#ifndef AFTERBURN_H
#define AFTERBURN_H

#ifdef __AFTERBURN__
# define AFTERBURN_MEMOP_TEXT(kind) ".afterburn_memop " #kind "\n\t"
#else
# define AFTERBURN_MEMOP_TEXT(kind) ""
#endif

#ifdef __ASSEMBLER__
# ifdef __AFTERBURN__
#  define AFTERBURN_NOANNOTATE .afterburn_noannotate
#  define AFTERBURN_ANNOTATE .afterburn_annotate
#  define AFTERBURN_MEMOP(kind) .afterburn_memop kind
# else
#  define AFTERBURN_NOANNOTATE
#  define AFTERBURN_ANNOTATE
#  define AFTERBURN_MEMOP(kind)
# endif
#else
# define AFTERBURN_PTE_SET(ptep, val) \
	__asm__ __volatile__(AFTERBURN_MEMOP_TEXT(pte_set) "movl %1, %0" : "=m"(*(ptep)) : "r"((unsigned int)(val)) : "memory")
# define AFTERBURN_PGD_SET(pgdp, val) \
	__asm__ __volatile__(AFTERBURN_MEMOP_TEXT(pgd_set) "movl %1, %0" : "=m"(*(pgdp)) : "r"((unsigned int)(val)) : "memory")
# define AFTERBURN_PTE_READ(ptep) ({ unsigned int __v; \
	__asm__ __volatile__(AFTERBURN_MEMOP_TEXT(pte_read) "movl %1, %0" : "=r"(__v) : "m"(*(ptep))); __v; })
#endif

#endif
