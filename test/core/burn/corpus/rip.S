/* modes: 64 — %rip-relative references across padded sites; gas conditionals sharing a line with code. */
	.text
resume:
	lea	back(%rip), %rax	/* points past the sites below: padding grows its displacement */
	cli
	mov	%rax, %cr3
	.equ	.Lreg, 14
	/* only the first branch is assembled; the other names a register that does not exist */
	.if .Lreg >= 8; movq $1, %r14; .else; movl $1, %e14; .endif; swapgs
	sti; .ifndef .Lmark; .Lmark:; .endif; hlt
	rdtsc; .if 0; invd; .endif
back:
	lea	resume(%rip), %rdx	/* points back over them */
	ret
