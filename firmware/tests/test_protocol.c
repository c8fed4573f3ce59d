/* Protocol v1 core on the host (cmocka, under ASan and UBSan): the shared vectors both ways, COBS, CRC, and the
 * reader on corrupt, truncated, overlong and foreign input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "liftsense/protocol.h"
#include "vectors.h"

static ls_frame frame_of(const ls_vector *v) {
    ls_frame f = {v->type, v->flags, v->band_id, v->seq, v->device_ms, v->count, v->payload, v->payload_len};
    return f;
}

static size_t feed(ls_reader *r, const uint8_t *bytes, size_t len, ls_frame *frames, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (ls_reader_push(r, bytes[i], &frames[n]) && n < max) {
            n++;
        }
    }
    return n;
}

static void crc32_is_zlibs(void **state) {
    (void)state;
    assert_int_equal(ls_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    assert_int_equal(ls_crc32(NULL, 0), 0u);
}

static void cobs_matches_the_published_examples_and_round_trips(void **state) {
    (void)state;
    uint8_t in[1200], out[1300], back[1200];
    ls_status st;
    const uint8_t one_zero[] = {0};
    assert_int_equal(ls_cobs_encode(one_zero, 1, out), 2);
    assert_memory_equal(out, "\x01\x01", 2);
    const uint8_t mixed[] = {0x11, 0x22, 0x00, 0x33};
    assert_int_equal(ls_cobs_encode(mixed, 4, out), 5);
    assert_memory_equal(out, "\x03\x11\x22\x02\x33", 5);
    for (int i = 0; i < 254; i++) in[i] = (uint8_t)(i + 1);
    assert_int_equal(ls_cobs_encode(in, 254, out), 256);
    assert_int_equal(out[0], 0xFF);
    assert_int_equal(out[255], 0x01);
    srand(1);
    const size_t lengths[] = {0, 1, 253, 254, 255, 508, 800, 1200};
    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
        for (size_t i = 0; i < lengths[k]; i++) in[i] = (rand() % 3) ? (uint8_t)rand() : 0;
        size_t n = ls_cobs_encode(in, lengths[k], out);
        assert_null(memchr(out, 0, n));
        assert_int_equal(ls_cobs_decode(out, n, back, sizeof back, &st), lengths[k]);
        assert_int_equal(st, LS_OK);
        assert_memory_equal(back, in, lengths[k]);
    }
    const uint8_t ten[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    size_t n = ls_cobs_encode(ten, sizeof ten, out);
    assert_int_equal(ls_cobs_decode(out, n, back, 3, &st), 0); /* the output would not fit: refused, not overrun */
    assert_int_equal(st, LS_ERR_TOO_LONG);
}

static void every_vector_encodes_to_its_bytes(void **state) {
    (void)state;
    for (unsigned i = 0; i < LS_N_VECTORS; i++) {
        const ls_vector *v = &LS_VECTORS[i];
        ls_frame f = frame_of(v);
        uint8_t wire[LS_MAX_WIRE];
        ls_status st;
        size_t n = ls_encode(&f, wire, sizeof wire, &st);
        assert_int_equal(st, LS_OK);
        assert_int_equal(n, v->wire_len);
        assert_memory_equal(wire, v->wire, n);
    }
}

static void every_vector_decodes_to_its_fields(void **state) {
    (void)state;
    ls_reader r;
    ls_reader_init(&r);
    for (unsigned i = 0; i < LS_N_VECTORS; i++) {
        const ls_vector *v = &LS_VECTORS[i];
        ls_frame got;
        assert_int_equal(feed(&r, v->wire, v->wire_len, &got, 1), 1);
        assert_int_equal(got.type, v->type);
        assert_int_equal(got.flags, v->flags);
        assert_int_equal(got.band_id, v->band_id);
        assert_int_equal(got.seq, v->seq);
        assert_int_equal(got.device_ms, v->device_ms);
        assert_int_equal(got.count, v->count);
        assert_int_equal(got.payload_len, v->payload_len);
        assert_memory_equal(got.payload, v->payload, v->payload_len);
    }
    assert_int_equal(r.corrupt, 0);
}

static void samples_and_hello_round_trip_at_full_range(void **state) {
    (void)state;
    ls_sample in[LS_MAX_SAMPLES], out;
    for (int i = 0; i < (int)LS_MAX_SAMPLES; i++) {
        in[i].red = (uint32_t)(i * 4099) & 0x3FFFFu;
        in[i].ir = 0x3FFFFu - in[i].red;
        in[i].acc[0] = (int16_t)(i * 1021 - 32768);
        in[i].acc[1] = (int16_t)(32767 - i);
        in[i].acc[2] = (int16_t)(i - 8192);
    }
    uint8_t payload[LS_MAX_SAMPLES * LS_SAMPLE_BYTES], wire[LS_MAX_WIRE];
    ls_pack_samples(in, LS_MAX_SAMPLES, payload);
    ls_frame f = {LS_SAMPLES, LS_FLAG_RESENT, 7, 0xFFFFFFC0u, 0xFFFFFFFFu, LS_MAX_SAMPLES, payload, sizeof payload};
    ls_status st;
    size_t n = ls_encode(&f, wire, sizeof wire, &st);
    assert_true(n > 0 && n <= LS_MAX_WIRE);
    ls_reader r;
    ls_reader_init(&r);
    ls_frame got;
    assert_int_equal(feed(&r, wire, n, &got, 1), 1);
    for (uint16_t i = 0; i < LS_MAX_SAMPLES; i++) {
        ls_unpack_sample(got.payload, i, &out);
        assert_int_equal(out.red, in[i].red);
        assert_int_equal(out.ir, in[i].ir);
        assert_memory_equal(out.acc, in[i].acc, sizeof out.acc);
    }
    ls_hello h = {0x0102, 125, 0xDEADBEEFu, 8192, 411, 16384}, h2;
    uint8_t hp[LS_HELLO_SIZE];
    ls_pack_hello(&h, hp);
    ls_frame hf = {LS_HELLO, 0, 7, 0, 0, 0, hp, LS_HELLO_SIZE};
    assert_true(ls_unpack_hello(&hf, &h2));
    assert_memory_equal(&h, &h2, sizeof h);
}

static void encode_refuses_what_is_not_a_frame(void **state) {
    (void)state;
    uint8_t payload[LS_SAMPLE_BYTES * 65] = {0}, wire[LS_MAX_WIRE];
    ls_status st;
    ls_frame too_many = {LS_SAMPLES, 0, 1, 0, 0, 65, payload, sizeof payload};
    assert_int_equal(ls_encode(&too_many, wire, sizeof wire, &st), 0);
    assert_int_equal(st, LS_ERR_LENGTH);
    ls_frame unknown = {99, 0, 1, 0, 0, 0, payload, 0};
    assert_int_equal(ls_encode(&unknown, wire, sizeof wire, &st), 0);
    assert_int_equal(st, LS_ERR_TYPE);
    ls_frame bye = {LS_BYE, 0, 1, 0, 0, 0, NULL, 0};
    assert_int_equal(ls_encode(&bye, wire, 10, &st), 0); /* 22 bytes do not fit in 10 */
    assert_int_equal(st, LS_ERR_SPACE);
}

/* a raw frame (header, payload, CRC) with chosen version and type, COBS-framed */
static size_t forged(uint8_t version, uint8_t type, uint8_t *wire) {
    uint8_t raw[LS_HEADER_SIZE + LS_CRC_SIZE] = {version, type};
    ls_pack_u32(raw + LS_HEADER_SIZE, ls_crc32(raw, LS_HEADER_SIZE));
    size_t n = ls_cobs_encode(raw, sizeof raw, wire);
    wire[n] = 0;
    return n + 1;
}

static void the_reader_refuses_corrupt_truncated_overlong_and_foreign_frames_and_resynchronises(void **state) {
    (void)state;
    const ls_vector *v = &LS_VECTORS[1]; /* a samples frame */
    ls_reader r;
    ls_frame got;
    /* every single-byte change is caught (CRC-32 or COBS), and the next good frame still decodes */
    for (size_t i = 0; i + 1 < v->wire_len; i++) {
        uint8_t bad[LS_MAX_WIRE];
        memcpy(bad, v->wire, v->wire_len);
        bad[i] ^= 0x5A;
        ls_reader_init(&r);
        assert_int_equal(feed(&r, bad, v->wire_len, &got, 1), 0);
        assert_true(r.corrupt >= 1);
        assert_int_equal(feed(&r, v->wire, v->wire_len, &got, 1), 1);
        assert_int_equal(got.seq, v->seq);
    }
    /* truncated */
    ls_reader_init(&r);
    assert_int_equal(feed(&r, v->wire, v->wire_len - 6, &got, 1), 0);
    assert_int_equal(ls_reader_push(&r, 0, &got), false);
    assert_int_equal(r.corrupt, 1);
    /* overlong: 5000 bytes without a delimiter, then a good frame */
    ls_reader_init(&r);
    for (int i = 0; i < 5000; i++) assert_false(ls_reader_push(&r, (uint8_t)(1 + i % 250), &got));
    assert_false(ls_reader_push(&r, 0, &got));
    assert_int_equal(r.last_error, LS_ERR_TOO_LONG);
    assert_int_equal(feed(&r, v->wire, v->wire_len, &got, 1), 1);
    /* another version, an unknown type: refused with the reason */
    uint8_t wire[64];
    size_t n = forged(2, LS_BYE, wire);
    assert_int_equal(feed(&r, wire, n, &got, 1), 0);
    assert_int_equal(r.last_error, LS_ERR_VERSION);
    n = forged(1, 99, wire);
    assert_int_equal(feed(&r, wire, n, &got, 1), 0);
    assert_int_equal(r.last_error, LS_ERR_TYPE);
    assert_string_equal(ls_status_text(LS_ERR_VERSION), "protocol version not supported");
    /* random bytes: never a crash, never a frame that was not sent */
    srand(7);
    ls_reader_init(&r);
    for (int i = 0; i < 200000; i++) {
        if (ls_reader_push(&r, (uint8_t)rand(), &got)) {
            fail_msg("random bytes decoded as a frame");
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32_is_zlibs),
        cmocka_unit_test(cobs_matches_the_published_examples_and_round_trips),
        cmocka_unit_test(every_vector_encodes_to_its_bytes),
        cmocka_unit_test(every_vector_decodes_to_its_fields),
        cmocka_unit_test(samples_and_hello_round_trip_at_full_range),
        cmocka_unit_test(encode_refuses_what_is_not_a_frame),
        cmocka_unit_test(the_reader_refuses_corrupt_truncated_overlong_and_foreign_frames_and_resynchronises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
