/* The band's protocol state machine (see band.h). */
#include "liftsense/band.h"

#include <string.h>

uint32_t ls_schedule_due(ls_schedule *schedule, uint32_t now_us) {
    if (!schedule->started) {
        schedule->started = true;
        schedule->next_due_us = now_us;
    }
    uint32_t due = 0;
    while ((int32_t)(now_us - schedule->next_due_us) >= 0) { /* modular: the µs clock wraps every 71 minutes */
        schedule->next_due_us += LS_SAMPLE_PERIOD_US;
        due++;
    }
    return due;
}

void ls_band_init(ls_band *band, uint32_t band_id, const ls_hello *hello, uint8_t *ring_storage, uint32_t capacity,
                  uint32_t start_ms) {
    memset(band, 0, sizeof *band);
    band->band_id = band_id;
    band->hello = *hello;
    band->start_ms = start_ms;
    ls_ring_init(&band->ring, ring_storage, capacity, 0);
    ls_reader_init(&band->reader);
}

void ls_band_sample(ls_band *band, const ls_sample *sample) { ls_ring_push(&band->ring, sample); }

void ls_band_sensor_lost(ls_band *band, uint32_t n) { ls_ring_skip(&band->ring, n); }

void ls_band_connected(ls_band *band) {
    band->connected = true;
    band->hello_sent = false;
    band->resume_known = false;
    band->time_sync_pending = false;
    ls_reader_init(&band->reader);
}

void ls_band_disconnected(ls_band *band) { band->connected = false; }

size_t ls_band_next_frame(ls_band *band, uint32_t now_ms, uint8_t *out, size_t capacity) {
    ls_status status;
    if (!band->connected) {
        return 0;
    }
    if (!band->hello_sent) {
        uint8_t payload[LS_HELLO_SIZE];
        ls_pack_hello(&band->hello, payload);
        ls_frame hello = {LS_HELLO, 0, band->band_id, 0, now_ms, 0, payload, LS_HELLO_SIZE};
        band->hello_sent = true;
        return ls_encode(&hello, out, capacity, &status);
    }
    if (band->time_sync_pending) { /* echoed at once, stamped with this clock */
        ls_frame sync = {LS_TIME_SYNC, 0, band->band_id, 0, now_ms, 0, band->time_sync_echo, 8};
        band->time_sync_pending = false;
        return ls_encode(&sync, out, capacity, &status);
    }
    if (!band->resume_known) {
        return 0; /* wait for the gateway to say where to resume */
    }
    uint8_t payload[LS_FRAME_SAMPLES * LS_SAMPLE_BYTES];
    uint32_t first;
    uint16_t flags;
    uint16_t n = ls_ring_frame(&band->ring, band->cursor, LS_FRAME_SAMPLES, payload, &first, &flags);
    bool before_hole = n && ls_ring_next_seq(&band->ring) != first + n; /* more kept, beyond a hole */
    if (n == 0 || (n < LS_FRAME_SAMPLES && !band->flush && !before_hole)) {
        return 0; /* not yet a whole frame: the next one is 200 ms of samples */
    }
    ls_frame frame = {LS_SAMPLES, flags, band->band_id, first, band->start_ms + first * (LS_SAMPLE_PERIOD_US / 1000u), n,
                      payload, (uint16_t)(n * LS_SAMPLE_BYTES)};
    size_t len = ls_encode(&frame, out, capacity, &status);
    if (len) {
        band->cursor = first + n;
    }
    return len;
}

static void handle(ls_band *band, const ls_frame *frame) {
    uint32_t boot;
    switch (frame->type) {
    case LS_ACK:
        if (!ls_ack_boot(frame, &boot) || boot != band->hello.boot_id) {
            return; /* another boot's: not ours to act on */
        }
        band->acks++;
        ls_ring_ack(&band->ring, frame->seq);
        if (!band->resume_known || (frame->flags & LS_FLAG_RESEND)) { /* resume, or go back to the hole */
            band->cursor = frame->seq;
            band->resume_known = true;
        }
        break;
    case LS_COMMAND:
        band->commands++;
        if (band->on_command) {
            band->on_command(band->context, frame->payload[0], ls_read_u16(frame->payload + 1),
                             (const char *)frame->payload + 3, (uint16_t)(frame->payload_len - 3u));
        }
        break;
    case LS_TIME_SYNC:
        memcpy(band->time_sync_echo, frame->payload, 8);
        band->time_sync_pending = true;
        break;
    case LS_ERROR:
        band->errors++;
        break;
    default:
        break;
    }
}

void ls_band_receive(ls_band *band, const uint8_t *bytes, size_t len) {
    ls_frame frame;
    for (size_t i = 0; i < len; i++) {
        if (ls_reader_push(&band->reader, bytes[i], &frame)) {
            handle(band, &frame);
        }
    }
}
