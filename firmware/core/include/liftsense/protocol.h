/* Wristband protocol v1 (docs/wristband_protocol.md): the portable C core of the band's side.
 *
 * C99, no allocation, no Arduino headers. A frame on the wire is COBS(header | payload | CRC-32) followed by 0x00;
 * all integers are little-endian. The same encoding is implemented in Python by serving/gateway/protocol.py, and
 * both pass docs/wristband_vectors.json.
 */
#ifndef LIFTSENSE_PROTOCOL_H
#define LIFTSENSE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LS_PROTOCOL_VERSION 1u
#define LS_HEADER_SIZE 18u
#define LS_CRC_SIZE 4u
#define LS_SAMPLE_BYTES 12u
#define LS_MAX_SAMPLES 64u
#define LS_MAX_REASON 96u
#define LS_HELLO_SIZE 14u
/* the largest decoded frame (a full SAMPLES frame) and its largest wire form (COBS overhead and the 0x00) */
#define LS_MAX_FRAME (LS_HEADER_SIZE + LS_MAX_SAMPLES * LS_SAMPLE_BYTES + LS_CRC_SIZE)
#define LS_MAX_WIRE (LS_MAX_FRAME + LS_MAX_FRAME / 254u + 2u)

typedef enum {
    LS_HELLO = 1,
    LS_SAMPLES = 2,
    LS_ACK = 3,
    LS_TIME_SYNC = 4,
    LS_EVENT = 5,
    LS_COMMAND = 6,
    LS_BYE = 7,
    LS_ERROR = 8
} ls_frame_type;

enum {
    LS_FLAG_GAP_BEFORE = 1u,
    LS_FLAG_FIFO_OVERFLOW = 2u,
    LS_FLAG_RESENT = 4u,
    LS_FLAG_RESEND = 8u
};

typedef enum { LS_EVENT_SET_START = 1, LS_EVENT_SET_END = 2, LS_EVENT_SAMPLES_DROPPED = 3 } ls_event_code;
typedef enum { LS_COMMAND_REST_OVER = 1, LS_COMMAND_VIBRATE = 2 } ls_command_code;

typedef enum {
    LS_OK = 0,
    LS_ERR_SHORT,   /* shorter than a header and CRC */
    LS_ERR_CRC,     /* the CRC does not match */
    LS_ERR_VERSION, /* another protocol version: refused, never guessed */
    LS_ERR_TYPE,    /* an unknown frame type */
    LS_ERR_LENGTH,  /* a payload of the wrong length for its type, or a sample count that does not match */
    LS_ERR_COBS,    /* bad byte stuffing */
    LS_ERR_TOO_LONG,/* longer than any valid frame */
    LS_ERR_SPACE    /* the output buffer is too small */
} ls_status;

typedef struct {
    uint8_t type; /* ls_frame_type */
    uint16_t flags;
    uint32_t band_id;
    uint32_t seq; /* SAMPLES: the first sample's number; ACK: the next sample the gateway needs */
    uint32_t device_ms;
    uint16_t count; /* samples in a SAMPLES frame, else 0 */
    const uint8_t *payload;
    uint16_t payload_len;
} ls_frame;

typedef struct {
    uint32_t red; /* MAX3010x counts (18 bits used, 24 on the wire) */
    uint32_t ir;
    int16_t acc[3]; /* MPU9250 counts; HELLO's acc_lsb_per_g gives g */
} ls_sample;

typedef struct {
    uint16_t firmware; /* major << 8 | minor */
    uint16_t sample_rate_hz;
    uint32_t boot_id;
    uint16_t acc_lsb_per_g;
    uint16_t ppg_pulse_width_us;
    uint16_t ppg_adc_range_na;
} ls_hello;

const char *ls_status_text(ls_status status);

/* CRC-32/ISO-HDLC (zlib's crc32) */
uint32_t ls_crc32(const uint8_t *data, size_t len);

/* COBS: `out` needs len + len / 254 + 1 bytes; returns the encoded length (no 0x00 appended) */
size_t ls_cobs_encode(const uint8_t *in, size_t len, uint8_t *out);
/* returns the decoded length (at most `capacity`), or 0 with *status set (LS_ERR_COBS, LS_ERR_TOO_LONG) */
size_t ls_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t capacity, ls_status *status);

/* The frame's wire bytes (COBS, CRC, the closing 0x00) into `out`; returns their count, 0 when it does not fit or
 * the frame is malformed (*status says which). */
size_t ls_encode(const ls_frame *frame, uint8_t *out, size_t capacity, ls_status *status);
/* A COBS-decoded frame (header, payload, CRC) -> `frame`, whose payload points into `raw`. */
ls_status ls_decode(const uint8_t *raw, size_t len, ls_frame *frame);

/* Payload helpers: samples (count x 12 bytes), HELLO, ACK, EVENT, COMMAND, TIME_SYNC */
void ls_pack_samples(const ls_sample *samples, uint16_t count, uint8_t *payload);
void ls_unpack_sample(const uint8_t *payload, uint16_t index, ls_sample *sample);
void ls_pack_hello(const ls_hello *hello, uint8_t payload[LS_HELLO_SIZE]);
bool ls_unpack_hello(const ls_frame *frame, ls_hello *hello);
bool ls_ack_boot(const ls_frame *frame, uint32_t *boot_id);
void ls_pack_u32(uint8_t *out, uint32_t value);
uint32_t ls_read_u32(const uint8_t *in);
uint16_t ls_read_u16(const uint8_t *in);

/* Bytes in, frames out: splits on 0x00, resynchronises after garbage, and counts what it had to drop. */
typedef struct {
    uint8_t wire[LS_MAX_WIRE];
    uint8_t frame[LS_MAX_FRAME];
    size_t len;
    bool overlong;
    uint32_t corrupt;
    ls_status last_error;
} ls_reader;

void ls_reader_init(ls_reader *reader);
/* Feed one byte; returns true when it completed a valid frame, now in *frame (its payload lives in the reader
 * until the next call). */
bool ls_reader_push(ls_reader *reader, uint8_t byte, ls_frame *frame);

#endif
