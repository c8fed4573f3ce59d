/* The emulated Cortex-M0 (QEMU's microbit: nRF51, 256 KB flash at 0, 16 KB RAM at 0x20000000): a vector table whose
 * reset goes to newlib's semihosting start-up (rdimon), which sets the stack, clears .bss and calls main; main's
 * return value becomes QEMU's exit status. Also the mini-cmocka failure hook. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

extern void _start(void);
extern uint32_t __stack_top;

jmp_buf mini_cmocka_jump;

void mini_cmocka_fail(const char *file, int line, const char *what) {
    printf("%s:%d: check failed: %s\n", file, line, what);
    longjmp(mini_cmocka_jump, 1);
}

static void hang(void) {
    for (;;) {
    }
}

/* the first words of the vector table: initial stack pointer, reset, NMI, hard fault (a struct: no casts between
 * object and function pointers) */
struct vector_table {
    uint32_t *stack_top;
    void (*reset)(void);
    void (*nmi)(void);
    void (*hard_fault)(void);
};

__attribute__((section(".isr_vector"), used)) static const struct vector_table vectors = {
    &__stack_top, _start, hang, hang,
};
