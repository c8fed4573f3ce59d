/* The band's unacknowledged samples: a ring the sampler writes and the sender reads, kept until the gateway's ACK.
 *
 * Samples are kept packed as they go on the wire (12 bytes each), so frames are built straight from the ring and a
 * resend after a reconnect starts wherever the gateway's ACK says. When the ring is full the oldest sample goes,
 * counted; the next frame sent from beyond the hole carries GAP_BEFORE, so the gateway counts them as lost. Sequence
 * numbers are 32-bit and wrap; all comparisons are modular.
 *
 * Samples the sensor itself lost (its FIFO overflowed) keep their numbers, as holes: a hole takes a slot (all 12
 * bytes 0xFF, which no sample packs to: see ls_ring_push), is never sent, ends the frame before it, and the frame
 * after it carries GAP_BEFORE | FIFO_OVERFLOW. Sample n was therefore always taken at the band's start + 8 n ms.
 */
#ifndef LIFTSENSE_RING_H
#define LIFTSENSE_RING_H

#include <stdint.h>

#include "liftsense/protocol.h"

typedef struct {
    uint8_t *storage; /* capacity * LS_SAMPLE_BYTES bytes, the caller's */
    uint32_t capacity;
    uint32_t start;    /* storage index of the oldest kept sample */
    uint32_t count;    /* samples kept */
    uint32_t head_seq; /* sequence number of the oldest kept sample */
    uint32_t dropped;  /* samples dropped because the ring was full, since boot */
    uint32_t skipped;  /* sample numbers the sensor lost (holes), since boot */
} ls_ring;

void ls_ring_init(ls_ring *ring, uint8_t *storage, uint32_t capacity, uint32_t first_seq);
/* the sequence number the next pushed sample gets */
uint32_t ls_ring_next_seq(const ls_ring *ring);
/* A sample that would pack to the hole pattern (both PPG channels at 0xFFFFFF and every axis at -1: every sensor
 * saturated at once, no measurement) is kept as a hole. */
void ls_ring_push(ls_ring *ring, const ls_sample *sample);
/* `n` sample numbers the sensor lost, as holes (see above) */
void ls_ring_skip(ls_ring *ring, uint32_t n);
/* the gateway has every sample below `next_seq`: forget them (an ACK for samples not yet sent is ignored) */
void ls_ring_ack(ls_ring *ring, uint32_t next_seq);
/* Up to `max` samples from `from_seq` (or from the oldest kept one, if those were dropped; or from beyond a hole)
 * into `payload`, stopping before a hole; returns the count (0: nothing to send), with the first sample's number
 * and the flags the frame must carry. */
uint16_t ls_ring_frame(const ls_ring *ring, uint32_t from_seq, uint16_t max, uint8_t *payload, uint32_t *first_seq,
                       uint16_t *flags);

#endif
