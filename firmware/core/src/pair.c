/* Pairing the two sensors' readings (see pair.h). */
#include "liftsense/pair.h"

#include <string.h>

static uint32_t at(uint32_t start, uint32_t offset) {
    uint32_t i = start + offset;
    return i >= LS_PAIR_QUEUE ? i - LS_PAIR_QUEUE : i;
}

static void report_lost(ls_pairer *p, uint32_t n) {
    if (n) {
        p->lost += n;
        p->on_lost(p->context, n);
    }
}

/* the oldest n waiting PPG samples, reported lost */
static void lose_ppg(ls_pairer *p, uint32_t n) {
    p->ppg_start = at(p->ppg_start, n);
    p->ppg_count -= n;
    report_lost(p, n);
}

static void drop_acc(ls_pairer *p, uint32_t n) {
    p->acc_start = at(p->acc_start, n);
    p->acc_count -= n;
    p->acc_dropped += n;
}

static void pair_waiting(ls_pairer *p) {
    while (p->ppg_count && p->acc_count) {
        ls_sample s = {p->red[p->ppg_start], p->ir[p->ppg_start], {0, 0, 0}};
        memcpy(s.acc, p->acc[p->acc_start], sizeof s.acc);
        p->ppg_start = at(p->ppg_start, 1);
        p->ppg_count--;
        p->acc_start = at(p->acc_start, 1);
        p->acc_count--;
        p->paired++;
        p->on_sample(p->context, &s);
    }
}

void ls_pairer_init(ls_pairer *pairer, void (*sample)(void *, const ls_sample *), void (*lost)(void *, uint32_t),
                    void *context) {
    memset(pairer, 0, sizeof *pairer);
    pairer->on_sample = sample;
    pairer->on_lost = lost;
    pairer->context = context;
}

void ls_pairer_drain(ls_pairer *p, const uint32_t *red, const uint32_t *ir, uint32_t n_ppg, uint32_t ppg_lost,
                     bool ppg_lost_saturated, const int16_t (*acc)[3], uint32_t n_acc, bool acc_overflowed,
                     uint32_t due) {
    /* the band's clock: beyond a saturated counter, the samples due and never read are lost too; otherwise the
     * balance only follows the two clocks' small difference, and is bounded */
    p->balance += (int32_t)due - (int32_t)n_ppg - (int32_t)ppg_lost;
    if (ppg_lost_saturated && p->balance > 0) {
        ppg_lost += (uint32_t)p->balance;
        p->balance = 0;
    }
    if (p->balance > (int32_t)LS_PAIR_QUEUE || p->balance < -(int32_t)LS_PAIR_QUEUE) {
        p->balance = p->balance > 0 ? (int32_t)LS_PAIR_QUEUE : -(int32_t)LS_PAIR_QUEUE;
    }

    if (acc_overflowed) { /* the accelerometer kept its newest readings, the PPG its oldest: nothing pairs */
        p->acc_dropped += p->acc_count + n_acc;
        p->acc_count = 0;
        p->acc_skip = 0;
        report_lost(p, p->ppg_count + n_ppg + ppg_lost);
        p->ppg_count = 0;
        return;
    }

    uint32_t skip = p->acc_skip < n_acc ? p->acc_skip : n_acc; /* readings of numbers already reported lost */
    p->acc_skip -= skip;
    p->acc_dropped += skip;
    for (uint32_t i = skip; i < n_acc; i++) {
        if (p->acc_count == LS_PAIR_QUEUE) {
            drop_acc(p, 1);
        }
        memcpy(p->acc[at(p->acc_start, p->acc_count)], acc[i], sizeof p->acc[0]);
        p->acc_count++;
    }
    for (uint32_t i = 0; i < n_ppg; i++) {
        if (p->ppg_count == LS_PAIR_QUEUE) {
            lose_ppg(p, 1);
        }
        uint32_t j = at(p->ppg_start, p->ppg_count);
        p->red[j] = red[i];
        p->ir[j] = ir[i];
        p->ppg_count++;
        pair_waiting(p);
    }

    if (ppg_lost) { /* the loss follows what was read: what still waits for its acc cannot wait past it */
        uint32_t waiting = p->ppg_count;
        lose_ppg(p, waiting);
        report_lost(p, ppg_lost);
        uint32_t pending = waiting + ppg_lost; /* their accelerometer readings: here already, or still to come */
        uint32_t here = pending < p->acc_count ? pending : p->acc_count;
        drop_acc(p, here);
        p->acc_skip += pending - here;
    }
    if (p->ppg_count > LS_PAIR_MAX_LEAD) { /* the PPG's clock runs ahead: its surplus has no reading to pair */
        lose_ppg(p, p->ppg_count - LS_PAIR_MAX_LEAD);
    }
    if (p->acc_count > LS_PAIR_MAX_LEAD) {
        drop_acc(p, p->acc_count - LS_PAIR_MAX_LEAD);
    }
}
