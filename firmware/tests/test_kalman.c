/* The accelerometer Kalman filter: bit for bit the Python reference (liftsense/ppg/kalman.py) on a recorded wrist
 * signal, on the host and on the emulated Cortex-M0's soft float; and its behaviour on known inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "data/kalman_reference.h"
#include "liftsense/kalman.h"

static float as_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t as_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static void matches_the_python_reference_bit_for_bit_on_a_recorded_signal(void **state) {
    (void)state;
    ls_kalman k;
    ls_kalman_init(&k, LS_KALMAN_Q_G2, LS_KALMAN_R_G2);
    unsigned differ = 0;
    for (unsigned i = 0; i < KALMAN_REF_SAMPLES; i++) {
        float z[3], out[3];
        for (int a = 0; a < 3; a++) z[a] = as_float(kalman_ref_in[3 * i + (unsigned)a]);
        ls_kalman_step(&k, z, out);
        for (int a = 0; a < 3; a++) differ += as_bits(out[a]) != kalman_ref_out[3 * i + (unsigned)a];
    }
    assert_int_equal(differ, 0);
}

static void a_still_arm_stays_put_and_a_movement_is_followed_within_a_few_samples(void **state) {
    (void)state;
    ls_kalman k;
    ls_kalman_init(&k, LS_KALMAN_Q_G2, LS_KALMAN_R_G2);
    float still[3] = {0.0f, 0.0f, -1.0f}, moved[3] = {0.5f, 0.0f, -1.0f}, out[3];
    for (int i = 0; i < 50; i++) ls_kalman_step(&k, still, out);
    assert_true(out[2] == -1.0f && out[0] == 0.0f);
    float previous = 0.0f;
    for (int i = 0; i < 4; i++) { /* a 0.5 g step: most of it in one sample, all but 0.1% in four */
        ls_kalman_step(&k, moved, out);
        assert_true(out[0] > previous && out[0] <= 0.5f);
        previous = out[0];
    }
    assert_true(out[0] > 0.4995f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_the_python_reference_bit_for_bit_on_a_recorded_signal),
        cmocka_unit_test(a_still_arm_stays_put_and_a_movement_is_followed_within_a_few_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
