/* The two sensors' FIFO reads paired into samples in time order, with every lost sample number said.
 *
 * Each sensor samples at 125 Hz on its own clock into its own FIFO; the band drains both now and then. The PPG sets
 * the numbering: every PPG sample period is one sample number, sent with its accelerometer reading or reported lost.
 * Readings are paired oldest first; a few of one sensor may wait for the other's (the drains are not simultaneous).
 *  - The MAX3010x FIFO full (rollover off): it keeps its oldest samples and counts the ones after them it lost, up
 *    to a saturating count; beyond that, the band's own clock (samples due) says how many. Those numbers are lost,
 *    and the accelerometer readings of the same periods are discarded as they arrive.
 *  - The MPU9250 FIFO full: it kept its newest readings, so nothing read this time pairs with the PPG read this
 *    time (the PPG's oldest): all of it goes (the PPG counted lost) and pairing starts again from the next drain.
 *  - One clock faster than the other: the leader's surplus beyond LS_PAIR_MAX_LEAD goes (a PPG sample as lost, an
 *    accelerometer reading as dropped), so pairs never drift apart.
 * Nothing is made up: no reading is repeated or interpolated. */
#ifndef LIFTSENSE_PAIR_H
#define LIFTSENSE_PAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "liftsense/protocol.h"

#define LS_PAIR_QUEUE 96u   /* readings of one sensor waiting: a whole MPU9250 FIFO (85) and the lead */
#define LS_PAIR_MAX_LEAD 4u /* 32 ms: more than the drains' skew, less than a heartbeat's rise */

typedef struct {
    void (*on_sample)(void *context, const ls_sample *sample); /* a pair, acc as read (the caller filters it) */
    void (*on_lost)(void *context, uint32_t n);               /* the next n sample numbers are lost */
    void *context;
    uint32_t red[LS_PAIR_QUEUE], ir[LS_PAIR_QUEUE];
    int16_t acc[LS_PAIR_QUEUE][3];
    uint32_t ppg_start, ppg_count, acc_start, acc_count;
    uint32_t acc_skip; /* accelerometer readings still to come that belong to lost numbers */
    int32_t balance;   /* samples due by the band's clock minus PPG samples read or counted lost */
    uint32_t paired, lost, acc_dropped;
} ls_pairer;

void ls_pairer_init(ls_pairer *pairer, void (*sample)(void *, const ls_sample *), void (*lost)(void *, uint32_t),
                    void *context);

/* One drain of both FIFOs: `n_ppg` (red, ir) oldest first and the `ppg_lost` after them (`ppg_lost_saturated`: the
 * sensor's counter was at its maximum, so possibly more), `n_acc` accelerometer readings oldest first
 * (`acc_overflowed`: the FIFO filled and lost its oldest), and `due`: samples the band's clock says came due since
 * the last drain (ls_schedule_due). Pairs and losses go out through the callbacks, in sample order. */
void ls_pairer_drain(ls_pairer *pairer, const uint32_t *red, const uint32_t *ir, uint32_t n_ppg, uint32_t ppg_lost,
                     bool ppg_lost_saturated, const int16_t (*acc)[3], uint32_t n_acc, bool acc_overflowed,
                     uint32_t due);

#endif
