/* The part of cmocka's API the core's tests use, for the emulated Cortex-M0 (cmocka itself is not built for ARM
 * here): the same test sources run on the host under cmocka and on the emulated CPU under this. A failed check
 * prints where (semihosting) and the run's exit status is the number of failed tests. */
#ifndef LIFTSENSE_MINI_CMOCKA_H
#define LIFTSENSE_MINI_CMOCKA_H

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct CMUnitTest {
    const char *name;
    void (*test)(void **state);
};

extern jmp_buf mini_cmocka_jump;
void mini_cmocka_fail(const char *file, int line, const char *what);

#define cmocka_unit_test(f) {#f, f}
#define MINI_CHECK(cond, what)                                                                                        \
    do {                                                                                                               \
        if (!(cond)) mini_cmocka_fail(__FILE__, __LINE__, what);                                                      \
    } while (0)
#define assert_true(c) MINI_CHECK((c), #c)
#define assert_false(c) MINI_CHECK(!(c), "!(" #c ")")
#define assert_null(p) MINI_CHECK((p) == NULL, #p " == NULL")
#define assert_int_equal(a, b) MINI_CHECK((uintmax_t)(a) == (uintmax_t)(b), #a " == " #b)
#define assert_memory_equal(a, b, n) MINI_CHECK(memcmp((a), (b), (n)) == 0, "memory " #a " == " #b)
#define assert_string_equal(a, b) MINI_CHECK(strcmp((a), (b)) == 0, #a " == " #b)
#define fail_msg(msg) mini_cmocka_fail(__FILE__, __LINE__, msg)

static inline int cmocka_run_group_tests_impl(const struct CMUnitTest *tests, size_t n) {
    volatile int failed = 0; /* volatile: kept across longjmp */
    for (volatile size_t i = 0; i < n; i++) {
        if (setjmp(mini_cmocka_jump) == 0) {
            tests[i].test(NULL);
            printf("[       OK ] %s\n", tests[i].name);
        } else {
            printf("[  FAILED  ] %s\n", tests[i].name);
            failed++;
        }
    }
    printf("%d of %d tests failed on the emulated Cortex-M0\n", failed, (int)n);
    return failed;
}
#define cmocka_run_group_tests(tests, setup, teardown)                                                                \
    ((void)(setup), (void)(teardown), cmocka_run_group_tests_impl((tests), sizeof(tests) / sizeof((tests)[0])))

#endif
