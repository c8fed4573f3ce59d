/* The unacknowledged-sample ring (see ring.h). */
#include "liftsense/ring.h"

#include <string.h>

/* an index past the end wraps once: every sum below is of two values under the capacity (the Cortex-M0+ has no
 * divide instruction, so no % on the sampling path) */
static uint32_t wrap(uint32_t index, uint32_t capacity) { return index >= capacity ? index - capacity : index; }

/* b - a as a signed distance on the 32-bit circle */
static int32_t seq_diff(uint32_t b, uint32_t a) { return (int32_t)(b - a); }

void ls_ring_init(ls_ring *ring, uint8_t *storage, uint32_t capacity, uint32_t first_seq) {
    ring->storage = storage;
    ring->capacity = capacity;
    ring->start = 0;
    ring->count = 0;
    ring->head_seq = first_seq;
    ring->dropped = 0;
}

uint32_t ls_ring_next_seq(const ls_ring *ring) { return ring->head_seq + ring->count; }

void ls_ring_push(ls_ring *ring, const ls_sample *sample) {
    if (ring->count == ring->capacity) { /* full: the oldest goes, and is counted */
        ring->start = wrap(ring->start + 1u, ring->capacity);
        ring->head_seq++;
        ring->count--;
        ring->dropped++;
    }
    uint32_t at = wrap(ring->start + ring->count, ring->capacity);
    ls_pack_samples(sample, 1, ring->storage + (size_t)at * LS_SAMPLE_BYTES);
    ring->count++;
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
    if ((uint32_t)offset >= ring->count) {
        return 0;
    }
    uint32_t n = ring->count - (uint32_t)offset;
    if (n > max) {
        n = max;
    }
    uint32_t at = wrap(ring->start + (uint32_t)offset, ring->capacity);
    uint32_t first_part = ring->capacity - at < n ? ring->capacity - at : n; /* up to the end of the storage */
    memcpy(payload, ring->storage + (size_t)at * LS_SAMPLE_BYTES, (size_t)first_part * LS_SAMPLE_BYTES);
    memcpy(payload + (size_t)first_part * LS_SAMPLE_BYTES, ring->storage, (size_t)(n - first_part) * LS_SAMPLE_BYTES);
    *first_seq = ring->head_seq + (uint32_t)offset;
    return (uint16_t)n;
}
