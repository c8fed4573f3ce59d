/* Pairing the two FIFOs: every PPG period is one sample number, paired with its own accelerometer reading or
 * reported lost, through drain skew, either FIFO overflowing, a saturated counter and clocks that disagree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "liftsense/pair.h"

/* reading t of either sensor encodes t: red = t + 1000, ir = t; acc = (t, 7, -7) */
#define MAX_EVENTS 1200 /* small: the emulated CPU has 16 kB of RAM */
typedef struct {
    uint32_t numbers;           /* sample numbers given out so far (pairs and lost) */
    int16_t ppg_t[MAX_EVENTS]; /* per number: the PPG reading's t, or -1 when lost */
    int16_t acc_t[MAX_EVENTS];
    uint32_t lost;
} record;

static void on_sample(void *context, const ls_sample *s) {
    record *r = context;
    assert_true(r->numbers < MAX_EVENTS);
    assert_int_equal(s->ir + 1000u, s->red);
    assert_int_equal(s->acc[1], 7);
    r->ppg_t[r->numbers] = (int16_t)s->ir;
    r->acc_t[r->numbers] = s->acc[0];
    r->numbers++;
}

static void on_lost(void *context, uint32_t n) {
    record *r = context;
    for (uint32_t i = 0; i < n; i++) {
        assert_true(r->numbers < MAX_EVENTS);
        r->ppg_t[r->numbers] = -1;
        r->acc_t[r->numbers] = -1;
        r->numbers++;
    }
    r->lost += n;
}

static record rec;
static ls_pairer pairer;
static uint32_t red[LS_PAIR_QUEUE], ir[LS_PAIR_QUEUE];
static int16_t acc[LS_PAIR_QUEUE * 2][3];

static void start(void) {
    memset(&rec, 0, sizeof rec);
    ls_pairer_init(&pairer, on_sample, on_lost, &rec);
}

/* one drain: PPG readings t in [p0, p1) with `lost` after them, accelerometer readings in [a0, a1) */
static void drain(uint32_t p0, uint32_t p1, uint32_t lost, bool saturated, uint32_t a0, uint32_t a1, bool acc_over,
                  uint32_t due) {
    for (uint32_t t = p0; t < p1; t++) {
        red[t - p0] = t + 1000u;
        ir[t - p0] = t;
    }
    for (uint32_t t = a0; t < a1; t++) {
        acc[t - a0][0] = (int16_t)t;
        acc[t - a0][1] = 7;
        acc[t - a0][2] = -7;
    }
    ls_pairer_drain(&pairer, red, ir, p1 - p0, lost, saturated, (const int16_t(*)[3])acc, a1 - a0, acc_over, due);
}

/* number n holds PPG reading n, paired with its own accelerometer reading, or is lost */
static void assert_numbered_and_aligned(void) {
    for (uint32_t n = 0; n < rec.numbers; n++) {
        if (rec.ppg_t[n] >= 0) {
            assert_int_equal(rec.ppg_t[n], (int32_t)n);
            assert_int_equal(rec.acc_t[n], (int32_t)n);
        }
    }
}

static void steady_drains_pair_every_reading_with_its_own(void **state) {
    (void)state;
    start();
    uint32_t p = 0, a = 0;
    for (int k = 0; k < 40; k++) { /* the accelerometer's FIFO a reading behind, then ahead, then even */
        uint32_t a_next = 25u * (uint32_t)(k + 1) + (k % 3 == 0 ? 0u : k % 3 == 1 ? 2u : 0u) - (k % 3 == 2 ? 1u : 0u);
        drain(p, p + 25, 0, false, a, a_next, false, 25);
        p += 25;
        a = a_next;
    }
    drain(p, p, 0, false, a, p, false, 0); /* the accelerometer catches up */
    assert_int_equal(rec.numbers, 1000);
    assert_int_equal(rec.lost, 0);
    assert_int_equal(pairer.acc_dropped, 0);
    assert_numbered_and_aligned();
}

static void a_ppg_fifo_overflow_loses_its_numbers_and_skips_their_readings(void **state) {
    (void)state;
    start();
    drain(0, 10, 0, false, 0, 10, false, 10);
    /* a 400 ms stall: the PPG FIFO kept 10-41 and counted 20 lost (42-61); the accelerometer kept 10-59 so far */
    drain(10, 42, 20, false, 10, 60, false, 52);
    drain(62, 80, 0, false, 60, 80, false, 18); /* 60 and 61 belong to lost numbers */
    assert_int_equal(rec.numbers, 80);
    assert_int_equal(rec.lost, 20);
    for (uint32_t n = 42; n < 62; n++) {
        assert_int_equal(rec.ppg_t[n], -1);
    }
    assert_numbered_and_aligned();
}

static void beyond_a_saturated_counter_the_bands_clock_counts_the_loss(void **state) {
    (void)state;
    start();
    drain(0, 25, 0, false, 0, 25, false, 25);
    /* a 600 ms stall (75 periods): 32 read, the counter stuck at 31, 43 really lost; the MPU's FIFO held all 75 */
    drain(25, 57, 31, true, 25, 100, false, 75);
    drain(100, 125, 0, false, 100, 125, false, 25);
    assert_int_equal(rec.numbers, 125);
    assert_int_equal(rec.lost, 43);
    assert_numbered_and_aligned();
}

static void an_accelerometer_overflow_pairs_nothing_across_it_and_starts_again(void **state) {
    (void)state;
    start();
    drain(0, 25, 0, false, 0, 25, false, 25);
    /* a 1 s stall: the PPG kept its oldest 32 (25-56), the MPU its newest 85 (65-149): no reading pairs */
    drain(25, 57, 31, true, 65, 150, true, 125);
    drain(150, 175, 0, false, 150, 175, false, 25);
    assert_int_equal(rec.numbers, 175);
    assert_int_equal(rec.lost, 125);
    assert_int_equal(pairer.acc_dropped, 85);
    assert_numbered_and_aligned();
}

static void clocks_that_disagree_never_pull_pairs_apart(void **state) {
    (void)state;
    /* 24, then 26, accelerometer readings per 25 PPG periods (4%: far beyond two crystals' disagreement) */
    for (uint32_t rate = 24; rate <= 26; rate += 2) {
        start();
        for (uint32_t k = 0; k < 40; k++) {
            drain(25 * k, 25 * (k + 1), 0, false, rate * k, rate * (k + 1), false, 25);
        }
        assert_int_equal(rec.numbers + pairer.ppg_count, 1000); /* every PPG period numbered, or still waiting */
        for (uint32_t n = 0; n < rec.numbers; n++) {
            if (rec.ppg_t[n] >= 0) {
                assert_int_equal(rec.ppg_t[n], (int32_t)n);
                /* reading r was taken at PPG time 25 r / rate: the pair's two readings stay this close */
                double apart = 25.0 * rec.acc_t[n] / rate - n;
                assert_true(apart <= LS_PAIR_MAX_LEAD + 2.0 && apart >= -(LS_PAIR_MAX_LEAD + 2.0));
            }
        }
        if (rate > 25) {
            assert_int_equal(rec.lost, 0);
            assert_true(pairer.acc_dropped >= 35);
        } else {
            assert_true(rec.lost >= 35); /* the PPG's surplus periods have no reading: lost, and said so */
        }
        assert_true(pairer.ppg_count <= LS_PAIR_MAX_LEAD && pairer.acc_count <= LS_PAIR_MAX_LEAD);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(steady_drains_pair_every_reading_with_its_own),
        cmocka_unit_test(a_ppg_fifo_overflow_loses_its_numbers_and_skips_their_readings),
        cmocka_unit_test(beyond_a_saturated_counter_the_bands_clock_counts_the_loss),
        cmocka_unit_test(an_accelerometer_overflow_pairs_nothing_across_it_and_starts_again),
        cmocka_unit_test(clocks_that_disagree_never_pull_pairs_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
