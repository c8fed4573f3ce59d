/* The band's protocol state machine: HELLO first, resume from the gateway's ACK, frames of 25 samples with exact
 * device times, go back on RESEND, forget what is acknowledged, echo TIME_SYNC, hand COMMANDs over; and the 125 Hz
 * schedule across a stall and the clock's wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "liftsense/band.h"

#define CAPACITY 200u

static uint8_t storage[CAPACITY * LS_SAMPLE_BYTES];
static char last_reason[LS_MAX_REASON + 1];
static uint16_t last_arg;

static void on_command(void *context, uint8_t code, uint16_t arg, const char *reason, uint16_t len) {
    (void)context;
    assert_int_equal(code, LS_COMMAND_REST_OVER);
    last_arg = arg;
    memcpy(last_reason, reason, len);
    last_reason[len] = 0;
}

/* what the gateway would send: one frame's wire bytes */
static size_t gateway_frame(uint8_t type, uint16_t flags, uint32_t seq, const uint8_t *payload, uint16_t len,
                            uint8_t *wire) {
    ls_frame f = {type, flags, 9, seq, 0, 0, payload, len};
    ls_status st;
    return ls_encode(&f, wire, LS_MAX_WIRE, &st);
}

static bool next(ls_band *band, ls_frame *got, uint8_t *wire, ls_reader *reader) {
    size_t n = ls_band_next_frame(band, 1234, wire, LS_MAX_WIRE);
    for (size_t i = 0; i < n; i++) {
        if (ls_reader_push(reader, wire[i], got)) return true;
    }
    return false;
}

/* band 9 of boot `boot_id`, its first sample taken at device time `start_ms` */
static void new_band(ls_band *band, uint32_t boot_id, uint32_t start_ms) {
    ls_hello hello = {0x0100, 125, boot_id, 8192, 411, 16384};
    ls_band_init(band, 9, &hello, storage, CAPACITY, start_ms);
    band->on_command = on_command;
}

/* samples from..to-1 (their values by number) taken by the band */
static void sample_range(ls_band *band, uint32_t from, uint32_t to) {
    for (uint32_t k = from; k < to; k++) {
        ls_sample s = {k, k + 1, {(int16_t)k, 0, 0}};
        ls_band_sample(band, &s);
    }
}

static void a_connection_starts_with_hello_and_resumes_where_the_gateway_says(void **state) {
    (void)state;
    ls_band band;
    new_band(&band, 0xB007u, 5000);
    sample_range(&band, 0, 60);
    uint8_t wire[LS_MAX_WIRE], payload[8];
    ls_reader reader;
    ls_reader_init(&reader);
    ls_frame got;
    assert_false(next(&band, &got, wire, &reader)); /* not connected */
    ls_band_connected(&band);
    assert_true(next(&band, &got, wire, &reader));
    assert_int_equal(got.type, LS_HELLO);
    assert_false(next(&band, &got, wire, &reader)); /* waits for the gateway's ACK */
    ls_pack_u32(payload, 0xB007u);
    size_t n = gateway_frame(LS_ACK, 0, 10, payload, 4, wire); /* the gateway already has 0-9 */
    ls_band_receive(&band, wire, n);
    assert_true(next(&band, &got, wire, &reader));
    assert_int_equal(got.type, LS_SAMPLES);
    assert_int_equal(got.seq, 10);
    assert_int_equal(got.count, LS_FRAME_SAMPLES);
    assert_int_equal(got.device_ms, 5000 + 10 * 8); /* sample 10 was taken 80 ms after sample 0 */
    ls_sample s;
    ls_unpack_sample(got.payload, 0, &s);
    assert_int_equal(s.red, 10);
    assert_true(next(&band, &got, wire, &reader));
    assert_int_equal(got.seq, 35);
    assert_false(next(&band, &got, wire, &reader)); /* 60 samples: no third whole frame yet */
    /* a hole at the gateway (a frame was damaged): RESEND from 20 */
    n = gateway_frame(LS_ACK, LS_FLAG_RESEND, 20, payload, 4, wire);
    ls_band_receive(&band, wire, n);
    assert_true(next(&band, &got, wire, &reader));
    assert_int_equal(got.seq, 20);
    assert_int_equal(band.ring.head_seq, 20); /* 0-19 are acknowledged, forgotten */
    /* another boot's ACK is not ours */
    ls_pack_u32(payload, 0xDEADu);
    n = gateway_frame(LS_ACK, 0, 45, payload, 4, wire);
    ls_band_receive(&band, wire, n);
    assert_int_equal(band.ring.head_seq, 20);
}

static void time_sync_is_echoed_and_commands_are_handed_over(void **state) {
    (void)state;
    ls_band band;
    new_band(&band, 1u, 0);
    ls_band_connected(&band);
    uint8_t wire[LS_MAX_WIRE];
    ls_reader reader;
    ls_reader_init(&reader);
    ls_frame got;
    assert_true(next(&band, &got, wire, &reader)); /* HELLO */
    const uint8_t gateway_us[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n = gateway_frame(LS_TIME_SYNC, 0, 0, gateway_us, 8, wire);
    ls_band_receive(&band, wire, n);
    assert_true(next(&band, &got, wire, &reader));
    assert_int_equal(got.type, LS_TIME_SYNC);
    assert_int_equal(got.device_ms, 1234);
    assert_memory_equal(got.payload, gateway_us, 8);
    const char text[] = "HR 112 <= target 115 for 3 readings";
    uint8_t command[3 + sizeof text - 1] = {LS_COMMAND_REST_OVER, 112, 0};
    memcpy(command + 3, text, sizeof text - 1);
    n = gateway_frame(LS_COMMAND, 0, 0, command, sizeof command, wire);
    ls_band_receive(&band, wire, n);
    assert_int_equal(band.commands, 1);
    assert_int_equal(last_arg, 112);
    assert_string_equal(last_reason, text);
}

static void the_schedule_gives_125_hz_across_a_stall_and_the_clock_wrap(void **state) {
    (void)state;
    ls_schedule sched = {0, false};
    uint32_t t = 0xFFFFF000u; /* 4 ms before the µs clock wraps */
    uint32_t total = ls_schedule_due(&sched, t);
    assert_int_equal(total, 1);
    for (int i = 0; i < 1000; i++) {
        t += 1000; /* a tick every ms */
        total += ls_schedule_due(&sched, t);
    }
    assert_int_equal(total, 1 + 1000 / 8);
    t += 300000; /* a 300 ms stall: the samples are due at once (the sensor FIFO holds them) */
    assert_int_equal(ls_schedule_due(&sched, t), 300000 / 8000);
}

static void a_sensor_loss_sends_the_frame_before_it_and_flags_the_one_after(void **state) {
    (void)state;
    ls_band band;
    new_band(&band, 0xB007u, 5000);
    sample_range(&band, 0, 30);
    ls_band_sensor_lost(&band, 40); /* the PPG FIFO overflowed: 30-69 gone */
    sample_range(&band, 70, 95);
    uint8_t wire[LS_MAX_WIRE], payload[8];
    ls_reader reader;
    ls_reader_init(&reader);
    ls_frame got;
    ls_band_connected(&band);
    assert_true(next(&band, &got, wire, &reader)); /* HELLO */
    ls_pack_u32(payload, 0xB007u);
    size_t n = gateway_frame(LS_ACK, 0, 0, payload, 4, wire);
    ls_band_receive(&band, wire, n);
    assert_true(next(&band, &got, wire, &reader));
    assert_int_equal(got.seq, 0);
    assert_int_equal(got.count, 25);
    assert_int_equal(got.flags, 0);
    assert_true(next(&band, &got, wire, &reader)); /* 25-29: short, but nothing more will join it */
    assert_int_equal(got.seq, 25);
    assert_int_equal(got.count, 5);
    assert_true(next(&band, &got, wire, &reader));
    assert_int_equal(got.seq, 70);
    assert_int_equal(got.count, 25);
    assert_int_equal(got.flags, LS_FLAG_GAP_BEFORE | LS_FLAG_FIFO_OVERFLOW);
    assert_int_equal(got.device_ms, 5000 + 70 * 8); /* the lost numbers kept the clock: 560 ms after sample 0 */
    assert_false(next(&band, &got, wire, &reader));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_connection_starts_with_hello_and_resumes_where_the_gateway_says),
        cmocka_unit_test(time_sync_is_echoed_and_commands_are_handed_over),
        cmocka_unit_test(the_schedule_gives_125_hz_across_a_stall_and_the_clock_wrap),
        cmocka_unit_test(a_sensor_loss_sends_the_frame_before_it_and_flags_the_one_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
