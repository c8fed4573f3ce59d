/* The unacknowledged-sample ring (see ring.h). */
#include "liftsense/ring.h"

#include <stdbool.h>
#include <string.h>

/* an index past the end wraps once: every sum below is of two values under the capacity (the Cortex-M0+ has no
 * divide instruction, so no % on the sampling path) */
static uint32_t wrap(uint32_t index, uint32_t capacity) { return index >= capacity ? index - capacity : index; }

/* b - a as a signed distance on the 32-bit circle */
static int32_t seq_diff(uint32_t b, uint32_t a) { return (int32_t)(b - a); }

static uint8_t *slot(const ls_ring *ring, uint32_t offset) {
    return ring->storage + (size_t)wrap(ring->start + offset, ring->capacity) * LS_SAMPLE_BYTES;
}

static bool is_hole(const uint8_t *packed) {
    for (unsigned i = 0; i < LS_SAMPLE_BYTES; i++) {
        if (packed[i] != 0xFFu) {
            return false;
        }
    }
    return true;
}

/* room for one more slot: when full, the oldest goes (counted when it was a sample, not a hole) */
static uint8_t *append(ls_ring *ring) {
    if (ring->count == ring->capacity) {
        ring->dropped += !is_hole(slot(ring, 0));
        ring->start = wrap(ring->start + 1u, ring->capacity);
        ring->head_seq++;
        ring->count--;
    }
    ring->count++;
    return slot(ring, ring->count - 1u);
}

void ls_ring_init(ls_ring *ring, uint8_t *storage, uint32_t capacity, uint32_t first_seq) {
    ring->storage = storage;
    ring->capacity = capacity;
    ring->start = 0;
    ring->count = 0;
    ring->head_seq = first_seq;
    ring->dropped = 0;
    ring->skipped = 0;
}

uint32_t ls_ring_next_seq(const ls_ring *ring) { return ring->head_seq + ring->count; }

void ls_ring_push(ls_ring *ring, const ls_sample *sample) {
    uint8_t *at = append(ring);
    ls_pack_samples(sample, 1, at);
    ring->skipped += is_hole(at); /* every sensor saturated: no measurement, a hole like a lost one */
}

void ls_ring_skip(ls_ring *ring, uint32_t n) {
    ring->skipped += n;
    if (n > ring->capacity) { /* longer than the ring holds: what it kept goes, and the numbering jumps */
        while (ring->count) {
            ring->dropped += !is_hole(slot(ring, 0));
            ring->start = wrap(ring->start + 1u, ring->capacity);
            ring->head_seq++;
            ring->count--;
        }
        ring->head_seq += n - ring->capacity;
        n = ring->capacity;
    }
    while (n--) {
        memset(append(ring), 0xFF, LS_SAMPLE_BYTES);
    }
}

void ls_ring_ack(ls_ring *ring, uint32_t next_seq) {
    int32_t forget = seq_diff(next_seq, ring->head_seq);
    if (forget <= 0 || (uint32_t)forget > ring->count) {
        return; /* old news, or an ACK beyond what exists (not ours): nothing to forget */
    }
    ring->start = wrap(ring->start + (uint32_t)forget, ring->capacity);
    ring->head_seq = next_seq;
    ring->count -= (uint32_t)forget;
}

uint16_t ls_ring_frame(const ls_ring *ring, uint32_t from_seq, uint16_t max, uint8_t *payload, uint32_t *first_seq,
                       uint16_t *flags) {
    *flags = 0;
    int32_t offset = seq_diff(from_seq, ring->head_seq);
    if (offset < 0) { /* the samples asked for were dropped: send from the oldest kept, saying so */
        *flags = LS_FLAG_GAP_BEFORE;
        offset = 0;
    }
    uint32_t at = (uint32_t)offset;
    if (at < ring->count && is_hole(slot(ring, at))) { /* the sensor lost these: send from beyond, saying so */
        *flags = LS_FLAG_GAP_BEFORE | LS_FLAG_FIFO_OVERFLOW;
        while (at < ring->count && is_hole(slot(ring, at))) {
            at++;
        }
    }
    uint32_t n = 0;
    while (at + n < ring->count && n < max && !is_hole(slot(ring, at + n))) { /* a frame ends before a hole */
        memcpy(payload + (size_t)n * LS_SAMPLE_BYTES, slot(ring, at + n), LS_SAMPLE_BYTES);
        n++;
    }
    *first_seq = ring->head_seq + at;
    return (uint16_t)n;
}
