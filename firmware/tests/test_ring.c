/* The unacknowledged-sample ring: kept until acknowledged, resent from any ACK, overflow counted and flagged, and
 * sequence numbers wrapping at 2^32. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "liftsense/ring.h"

static ls_sample sample_of(uint32_t k) {
    ls_sample s = {k & 0x3FFFFu, (k * 7u) & 0x3FFFFu, {(int16_t)k, (int16_t)(-(int32_t)(k & 0x7FFF)), 1}};
    return s;
}

/* samples from..to-1 (their values by number) into the ring */
static void push_range(ls_ring *ring, uint32_t from, uint32_t to) {
    for (uint32_t k = from; k < to; k++) {
        ls_sample s = sample_of(k);
        ls_ring_push(ring, &s);
    }
}

static void check_frame(const uint8_t *payload, uint16_t n, uint32_t first_value) {
    for (uint16_t i = 0; i < n; i++) {
        ls_sample got, want = sample_of(first_value + i);
        ls_unpack_sample(payload, i, &got);
        assert_int_equal(got.red, want.red);
        assert_int_equal(got.ir, want.ir);
        assert_memory_equal(got.acc, want.acc, sizeof got.acc);
    }
}

static void samples_are_kept_until_acknowledged_and_resent_from_the_ack(void **state) {
    (void)state;
    uint8_t storage[8 * LS_SAMPLE_BYTES], payload[8 * LS_SAMPLE_BYTES];
    ls_ring ring;
    ls_ring_init(&ring, storage, 8, 0);
    push_range(&ring, 0, 6);
    uint32_t first;
    uint16_t flags;
    assert_int_equal(ls_ring_frame(&ring, 0, 4, payload, &first, &flags), 4);
    assert_int_equal(first, 0);
    assert_int_equal(flags, 0);
    check_frame(payload, 4, 0);
    ls_ring_ack(&ring, 3); /* the gateway stored 0-2 */
    assert_int_equal(ring.count, 3);
    /* a reconnect: the gateway's ACK says 3, the band resends 3-5 */
    assert_int_equal(ls_ring_frame(&ring, 3, 8, payload, &first, &flags), 3);
    assert_int_equal(first, 3);
    check_frame(payload, 3, 3);
    assert_int_equal(ls_ring_frame(&ring, 6, 8, payload, &first, &flags), 0); /* nothing new */
    ls_ring_ack(&ring, 100);                                                 /* beyond what exists: ignored */
    ls_ring_ack(&ring, 1);                                                   /* old news: ignored */
    assert_int_equal(ring.count, 3);
    assert_int_equal(ring.head_seq, 3);
}

static void a_full_ring_drops_its_oldest_counts_them_and_flags_the_gap(void **state) {
    (void)state;
    uint8_t storage[8 * LS_SAMPLE_BYTES], payload[8 * LS_SAMPLE_BYTES];
    ls_ring ring;
    ls_ring_init(&ring, storage, 8, 0);
    push_range(&ring, 0, 13); /* a stall: 13 samples, room for 8 */
    assert_int_equal(ring.dropped, 5);
    assert_int_equal(ring.head_seq, 5);
    assert_int_equal(ls_ring_next_seq(&ring), 13);
    uint32_t first;
    uint16_t flags;
    /* the gateway still needs 0: the band sends from 5 and says samples before it are gone */
    assert_int_equal(ls_ring_frame(&ring, 0, 8, payload, &first, &flags), 8);
    assert_int_equal(first, 5);
    assert_int_equal(flags, LS_FLAG_GAP_BEFORE);
    check_frame(payload, 8, 5); /* read across the storage's wrap */
}

static void sequence_numbers_wrap_at_two_to_the_32(void **state) {
    (void)state;
    uint8_t storage[16 * LS_SAMPLE_BYTES], payload[16 * LS_SAMPLE_BYTES];
    ls_ring ring;
    ls_ring_init(&ring, storage, 16, 0xFFFFFFFAu);
    push_range(&ring, 0, 12);
    assert_int_equal(ls_ring_next_seq(&ring), 6u);
    ls_ring_ack(&ring, 0xFFFFFFFEu);
    assert_int_equal(ring.count, 8);
    uint32_t first;
    uint16_t flags;
    assert_int_equal(ls_ring_frame(&ring, 0xFFFFFFFFu, 16, payload, &first, &flags), 7);
    assert_int_equal(first, 0xFFFFFFFFu);
    assert_int_equal(flags, 0);
    check_frame(payload, 7, 5);
    ls_ring_ack(&ring, 2u); /* across the wrap */
    assert_int_equal(ring.count, 4);
    assert_int_equal(ring.head_seq, 2u);
}

static void sensor_losses_keep_their_numbers_as_holes_that_are_never_sent(void **state) {
    (void)state;
    uint8_t storage[16 * LS_SAMPLE_BYTES], payload[16 * LS_SAMPLE_BYTES];
    ls_ring ring;
    ls_ring_init(&ring, storage, 16, 0);
    push_range(&ring, 0, 5);
    ls_ring_skip(&ring, 3); /* the sensor's FIFO lost 5-7 */
    push_range(&ring, 8, 12);
    assert_int_equal(ls_ring_next_seq(&ring), 12);
    assert_int_equal(ring.skipped, 3);
    uint32_t first;
    uint16_t flags;
    assert_int_equal(ls_ring_frame(&ring, 0, 16, payload, &first, &flags), 5); /* ends before the hole */
    assert_int_equal(first, 0);
    assert_int_equal(flags, 0);
    check_frame(payload, 5, 0);
    assert_int_equal(ls_ring_frame(&ring, 5, 16, payload, &first, &flags), 4); /* from beyond it, saying why */
    assert_int_equal(first, 8);
    assert_int_equal(flags, LS_FLAG_GAP_BEFORE | LS_FLAG_FIFO_OVERFLOW);
    check_frame(payload, 4, 8);
    assert_int_equal(ls_ring_frame(&ring, 9, 16, payload, &first, &flags), 3); /* a resend past the hole */
    assert_int_equal(flags, 0);
    ls_ring_ack(&ring, 12);
    assert_int_equal(ring.count, 0);
    assert_int_equal(ring.dropped, 0);
}

static void a_loss_longer_than_the_ring_drops_what_it_kept_and_jumps_the_numbering(void **state) {
    (void)state;
    uint8_t storage[8 * LS_SAMPLE_BYTES], payload[8 * LS_SAMPLE_BYTES];
    ls_ring ring;
    ls_ring_init(&ring, storage, 8, 0);
    push_range(&ring, 0, 6);
    ls_ring_skip(&ring, 20); /* 6-25 lost: longer than the ring */
    assert_int_equal(ring.dropped, 6); /* the six kept samples went, counted; the holes are not samples */
    push_range(&ring, 26, 28);
    assert_int_equal(ring.dropped, 6);
    assert_int_equal(ls_ring_next_seq(&ring), 28);
    uint32_t first;
    uint16_t flags;
    assert_int_equal(ls_ring_frame(&ring, 0, 8, payload, &first, &flags), 2);
    assert_int_equal(first, 26);
    assert_int_equal(flags, LS_FLAG_GAP_BEFORE | LS_FLAG_FIFO_OVERFLOW);
    check_frame(payload, 2, 26);
}

static void a_sample_with_every_sensor_saturated_is_a_hole(void **state) {
    (void)state;
    uint8_t storage[8 * LS_SAMPLE_BYTES], payload[8 * LS_SAMPLE_BYTES];
    ls_ring ring;
    ls_ring_init(&ring, storage, 8, 0);
    ls_sample saturated = {0xFFFFFFu, 0xFFFFFFu, {-1, -1, -1}}, s = sample_of(1);
    ls_ring_push(&ring, &saturated);
    ls_ring_push(&ring, &s);
    uint32_t first;
    uint16_t flags;
    assert_int_equal(ls_ring_frame(&ring, 0, 8, payload, &first, &flags), 1);
    assert_int_equal(first, 1);
    assert_int_equal(flags, LS_FLAG_GAP_BEFORE | LS_FLAG_FIFO_OVERFLOW);
    assert_int_equal(ring.skipped, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(samples_are_kept_until_acknowledged_and_resent_from_the_ack),
        cmocka_unit_test(a_full_ring_drops_its_oldest_counts_them_and_flags_the_gap),
        cmocka_unit_test(sequence_numbers_wrap_at_two_to_the_32),
        cmocka_unit_test(sensor_losses_keep_their_numbers_as_holes_that_are_never_sent),
        cmocka_unit_test(a_loss_longer_than_the_ring_drops_what_it_kept_and_jumps_the_numbering),
        cmocka_unit_test(a_sample_with_every_sensor_saturated_is_a_hole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
