/* Wristband protocol v1: CRC, COBS, frames and a resynchronising reader (see protocol.h). */
#include "liftsense/protocol.h"

#include <string.h>

const char *ls_status_text(ls_status status) {
    switch (status) {
    case LS_OK: return "ok";
    case LS_ERR_SHORT: return "frame shorter than a header and CRC";
    case LS_ERR_CRC: return "CRC mismatch";
    case LS_ERR_VERSION: return "protocol version not supported";
    case LS_ERR_TYPE: return "unknown frame type";
    case LS_ERR_LENGTH: return "payload length does not fit the frame type";
    case LS_ERR_COBS: return "bad COBS byte stuffing";
    case LS_ERR_TOO_LONG: return "frame longer than any valid one";
    case LS_ERR_SPACE: return "output buffer too small";
    }
    return "unknown status";
}

/* a 16-entry table, one nibble at a time: 64 bytes of flash instead of 1 KB, about 2 table steps per byte */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t ls_crc32(const uint8_t *data, size_t len) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
    }
    return crc ^ 0xFFFFFFFFu;
}

size_t ls_cobs_encode(const uint8_t *in, size_t len, uint8_t *out) {
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            if (++code == 0xFF) {
                out[code_at] = code;
                code_at = o++;
                code = 1;
            }
        }
    }
    out[code_at] = code;
    return o;
}

size_t ls_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t capacity, ls_status *status) {
    size_t i = 0, o = 0;
    while (i < len) {
        uint8_t code = in[i];
        if (code == 0 || i + code > len) {
            *status = LS_ERR_COBS;
            return 0;
        }
        bool zero_after = code != 0xFF && i + code < len;
        if (o + (size_t)code - 1u + (zero_after ? 1u : 0u) > capacity) {
            *status = LS_ERR_TOO_LONG;
            return 0;
        }
        memcpy(out + o, in + i + 1, (size_t)code - 1u);
        o += (size_t)code - 1u;
        i += code;
        if (zero_after) {
            out[o++] = 0;
        }
    }
    *status = LS_OK;
    return o;
}

void ls_pack_u32(uint8_t *out, uint32_t value) {
    out[0] = (uint8_t)value;
    out[1] = (uint8_t)(value >> 8);
    out[2] = (uint8_t)(value >> 16);
    out[3] = (uint8_t)(value >> 24);
}

static void pack_u16(uint8_t *out, uint16_t value) {
    out[0] = (uint8_t)value;
    out[1] = (uint8_t)(value >> 8);
}

uint32_t ls_read_u32(const uint8_t *in) {
    return (uint32_t)in[0] | ((uint32_t)in[1] << 8) | ((uint32_t)in[2] << 16) | ((uint32_t)in[3] << 24);
}

uint16_t ls_read_u16(const uint8_t *in) { return (uint16_t)(in[0] | (in[1] << 8)); }

static bool payload_fits(uint8_t type, uint16_t count, size_t payload_len) {
    switch (type) {
    case LS_SAMPLES: return count >= 1 && count <= LS_MAX_SAMPLES && payload_len == (size_t)count * LS_SAMPLE_BYTES;
    case LS_HELLO: return count == 0 && payload_len == LS_HELLO_SIZE;
    case LS_ACK: return count == 0 && payload_len == 4;
    case LS_TIME_SYNC: return count == 0 && payload_len == 8;
    case LS_EVENT: return count == 0 && payload_len == 5;
    case LS_COMMAND: return count == 0 && payload_len >= 3 && payload_len <= 3 + LS_MAX_REASON;
    case LS_BYE: return count == 0 && payload_len == 0;
    case LS_ERROR: return count == 0 && payload_len <= LS_MAX_REASON;
    default: return false;
    }
}

size_t ls_encode(const ls_frame *frame, uint8_t *out, size_t capacity, ls_status *status) {
    uint8_t raw[LS_MAX_FRAME];
    if (frame->type < LS_HELLO || frame->type > LS_ERROR) {
        *status = LS_ERR_TYPE;
        return 0;
    }
    if (!payload_fits(frame->type, frame->count, frame->payload_len)) {
        *status = LS_ERR_LENGTH;
        return 0;
    }
    size_t len = LS_HEADER_SIZE + frame->payload_len;
    raw[0] = LS_PROTOCOL_VERSION;
    raw[1] = frame->type;
    pack_u16(raw + 2, frame->flags);
    ls_pack_u32(raw + 4, frame->band_id);
    ls_pack_u32(raw + 8, frame->seq);
    ls_pack_u32(raw + 12, frame->device_ms);
    pack_u16(raw + 16, frame->count);
    if (frame->payload_len) {
        memcpy(raw + LS_HEADER_SIZE, frame->payload, frame->payload_len);
    }
    ls_pack_u32(raw + len, ls_crc32(raw, len));
    len += LS_CRC_SIZE;
    if (capacity < len + len / 254u + 2u) {
        *status = LS_ERR_SPACE;
        return 0;
    }
    size_t wire = ls_cobs_encode(raw, len, out);
    out[wire++] = 0;
    *status = LS_OK;
    return wire;
}

ls_status ls_decode(const uint8_t *raw, size_t len, ls_frame *frame) {
    if (len < LS_HEADER_SIZE + LS_CRC_SIZE) {
        return LS_ERR_SHORT;
    }
    if (ls_crc32(raw, len - LS_CRC_SIZE) != ls_read_u32(raw + len - LS_CRC_SIZE)) {
        return LS_ERR_CRC;
    }
    if (raw[0] != LS_PROTOCOL_VERSION) {
        return LS_ERR_VERSION;
    }
    if (raw[1] < LS_HELLO || raw[1] > LS_ERROR) {
        return LS_ERR_TYPE;
    }
    frame->type = raw[1];
    frame->flags = ls_read_u16(raw + 2);
    frame->band_id = ls_read_u32(raw + 4);
    frame->seq = ls_read_u32(raw + 8);
    frame->device_ms = ls_read_u32(raw + 12);
    frame->count = ls_read_u16(raw + 16);
    frame->payload = raw + LS_HEADER_SIZE;
    frame->payload_len = (uint16_t)(len - LS_HEADER_SIZE - LS_CRC_SIZE);
    return payload_fits(frame->type, frame->count, frame->payload_len) ? LS_OK : LS_ERR_LENGTH;
}

void ls_pack_samples(const ls_sample *samples, uint16_t count, uint8_t *payload) {
    for (uint16_t i = 0; i < count; i++) {
        uint8_t *p = payload + (size_t)i * LS_SAMPLE_BYTES;
        const ls_sample *s = &samples[i];
        for (int k = 0; k < 3; k++) {
            p[k] = (uint8_t)(s->red >> (8 * k));
            p[3 + k] = (uint8_t)(s->ir >> (8 * k));
            pack_u16(p + 6 + 2 * k, (uint16_t)s->acc[k]);
        }
    }
}

void ls_unpack_sample(const uint8_t *payload, uint16_t index, ls_sample *sample) {
    const uint8_t *p = payload + (size_t)index * LS_SAMPLE_BYTES;
    sample->red = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
    sample->ir = (uint32_t)p[3] | ((uint32_t)p[4] << 8) | ((uint32_t)p[5] << 16);
    for (int k = 0; k < 3; k++) {
        sample->acc[k] = (int16_t)ls_read_u16(p + 6 + 2 * k);
    }
}

void ls_pack_hello(const ls_hello *hello, uint8_t payload[LS_HELLO_SIZE]) {
    pack_u16(payload, hello->firmware);
    pack_u16(payload + 2, hello->sample_rate_hz);
    ls_pack_u32(payload + 4, hello->boot_id);
    pack_u16(payload + 8, hello->acc_lsb_per_g);
    pack_u16(payload + 10, hello->ppg_pulse_width_us);
    pack_u16(payload + 12, hello->ppg_adc_range_na);
}

bool ls_unpack_hello(const ls_frame *frame, ls_hello *hello) {
    if (frame->type != LS_HELLO || frame->payload_len != LS_HELLO_SIZE) {
        return false;
    }
    const uint8_t *p = frame->payload;
    hello->firmware = ls_read_u16(p);
    hello->sample_rate_hz = ls_read_u16(p + 2);
    hello->boot_id = ls_read_u32(p + 4);
    hello->acc_lsb_per_g = ls_read_u16(p + 8);
    hello->ppg_pulse_width_us = ls_read_u16(p + 10);
    hello->ppg_adc_range_na = ls_read_u16(p + 12);
    return true;
}

bool ls_ack_boot(const ls_frame *frame, uint32_t *boot_id) {
    if (frame->type != LS_ACK || frame->payload_len != 4) {
        return false;
    }
    *boot_id = ls_read_u32(frame->payload);
    return true;
}

void ls_reader_init(ls_reader *reader) { memset(reader, 0, sizeof *reader); }

bool ls_reader_push(ls_reader *reader, uint8_t byte, ls_frame *frame) {
    if (byte != 0) {
        if (reader->len < sizeof reader->wire) {
            reader->wire[reader->len++] = byte;
        } else {
            reader->overlong = true; /* dropped as it arrives: memory stays bounded */
        }
        return false;
    }
    size_t len = reader->len;
    bool overlong = reader->overlong;
    reader->len = 0;
    reader->overlong = false;
    if (len == 0 && !overlong) {
        return false; /* back-to-back delimiters */
    }
    ls_status status = LS_ERR_TOO_LONG;
    if (!overlong) {
        size_t raw = ls_cobs_decode(reader->wire, len, reader->frame, sizeof reader->frame, &status);
        if (status == LS_OK) {
            status = ls_decode(reader->frame, raw, frame);
        }
    }
    if (status != LS_OK) {
        reader->corrupt++;
        reader->last_error = status;
        return false;
    }
    return true;
}
