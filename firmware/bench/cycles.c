/* Instructions per sample on the sampling path, counted on the emulated Cortex-M0 (QEMU's microbit, ARMv6-M like the
 * SAMD21's M0+), built with the band's own flags (-Os, cortex-m0plus).
 *
 * QEMU runs with -icount shift=0: virtual time advances exactly 1 ns per instruction executed, and the nRF51's
 * TIMER0 counts 16 MHz of that virtual time: 62.5 instructions a tick. Measured, not assumed: a loop of known length
 * calibrates it first. QEMU does not model cycles (flash wait states, 2-cycle loads and branches);
 * benchmarks/bench_firmware.py bounds those from the instruction count.
 *
 * Prints the calibration, then one line per step: "name instructions_per_call". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "liftsense/band.h"
#include "liftsense/kalman.h"
#include "liftsense/pair.h"

/* the nRF51's TIMER0, 32 bits at 16 MHz of QEMU's virtual clock (QEMU 7.2's microbit leaves SysTick unclocked) */
#define TIMER0(offset) (*(volatile uint32_t *)(0x40008000u + (offset)))

static uint32_t ticks(void) {
    TIMER0(0x040) = 1; /* TASKS_CAPTURE[0] */
    return TIMER0(0x540); /* CC[0] */
}

static uint32_t elapsed(uint32_t from, uint32_t to) { return to - from; }

/* exactly 4 * n + a few instructions: subs, bne (taken), and two nops per round */
static void known_loop(uint32_t n) {
    __asm__ volatile(".syntax unified\n1: nop\n nop\n subs %0, %0, #1\n bne 1b\n" : "+l"(n) : : "cc");
}

static ls_band band;
static ls_kalman kalman;
static ls_pairer pairer;
static uint8_t ring_storage[300 * LS_SAMPLE_BYTES]; /* the band's is 1500; the emulated CPU has 16 kB, and printf
                                                      * needs its share */
static uint32_t red[32], ir[32];
static int16_t acc[32][3];

static void on_pair(void *context, const ls_sample *raw) {
    (void)context;
    float z[3], filtered[3];
    for (int a = 0; a < 3; a++) z[a] = raw->acc[a] / 8192.0f;
    ls_kalman_step(&kalman, z, filtered);
    ls_sample s = {raw->red, raw->ir,
                   {(int16_t)(filtered[0] * 8192.0f), (int16_t)(filtered[1] * 8192.0f), (int16_t)(filtered[2] * 8192.0f)}};
    ls_band_sample(&band, &s);
}

static void on_lost(void *context, uint32_t n) {
    (void)context;
    ls_band_sensor_lost(&band, n);
}

int main(void) {
    TIMER0(0x504) = 0; /* MODE: timer */
    TIMER0(0x508) = 3; /* BITMODE: 32 bits */
    TIMER0(0x510) = 0; /* PRESCALER: 16 MHz */
    TIMER0(0x000) = 1; /* TASKS_START */

    const uint32_t rounds = 1000000u;
    uint32_t t0 = ticks();
    known_loop(rounds);
    uint32_t calibration = elapsed(t0, ticks());
    /* instructions per tick, as a fraction: 4 * rounds / calibration */
#define INSTRUCTIONS(t, calls) ((uint32_t)(((uint64_t)(t) * 4u * rounds) / ((uint64_t)calibration * (calls))))
    printf("calibration %lu ticks for %lu instructions\n", (unsigned long)calibration, (unsigned long)(4u * rounds));

    ls_hello hello = {0x0100, 125, 1, 8192, 118, 4096};
    ls_band_init(&band, 1, &hello, ring_storage, 300, 0);
    ls_kalman_init(&kalman, 1e-3f, 1e-2f);
    ls_pairer_init(&pairer, on_pair, on_lost, NULL);
    uint32_t seed = 12345u;
    for (int i = 0; i < 32; i++) {
        seed = seed * 1664525u + 1013904223u;
        red[i] = seed >> 14;
        ir[i] = (seed >> 10) & 0x3FFFFu;
        for (int a = 0; a < 3; a++) acc[i][a] = (int16_t)((int32_t)(seed >> (a * 5)) % 8192);
    }

    /* the Kalman filter alone, per sample */
    const uint32_t n = 2000;
    float z[3] = {0.01f, -0.98f, 0.12f}, out[3];
    t0 = ticks();
    for (uint32_t k = 0; k < n; k++) {
        z[0] += 1e-4f;
        ls_kalman_step(&kalman, z, out);
    }
    printf("kalman_step %lu\n", (unsigned long)INSTRUCTIONS(elapsed(t0, ticks()), n));

    /* a drain of 25 pairs (200 ms), each filtered and put in the ring: per sample */
    const uint32_t drains = 10; /* 250 samples: the ring keeps them all */
    t0 = ticks();
    for (uint32_t d = 0; d < drains; d++) {
        ls_pairer_drain(&pairer, red, ir, 25, 0, false, (const int16_t(*)[3])acc, 25, false, 25);
    }
    printf("sample_paired_filtered_stored %lu\n", (unsigned long)INSTRUCTIONS(elapsed(t0, ticks()), drains * 25u));

    /* the worst single sample: one pair a drain, 400 of them (the ring full from the 300th on: each push evicts),
     * with a FIFO loss in between */
    uint32_t worst = 0;
    for (uint32_t k = 0; k < 400; k++) {
        uint32_t from = ticks();
        ls_pairer_drain(&pairer, red + (k & 31u), ir + (k & 31u), 1, k == 200 ? 3u : 0u, false,
                        (const int16_t(*)[3])acc[k & 31u], 1, false, 1);
        uint32_t took = elapsed(from, ticks());
        worst = took > worst ? took : worst;
    }
    printf("sample_worst %lu\n", (unsigned long)INSTRUCTIONS(worst + 1u, 1u)); /* + 1: the timer's resolution */
    ls_ring_init(&band.ring, ring_storage, 300, 0);
    for (uint32_t d = 0; d < drains; d++) {
        ls_pairer_drain(&pairer, red, ir, 25, 0, false, (const int16_t(*)[3])acc, 25, false, 25);
    }

    /* a 25-sample frame from the ring to wire bytes (CRC-32, COBS): per frame, and per sample */
    static uint8_t wire[LS_MAX_WIRE];
    ls_band_connected(&band);
    band.hello_sent = true;
    band.resume_known = true;
    band.cursor = 0;
    uint32_t frames = 0;
    t0 = ticks();
    uint32_t frame_worst = 0, from = t0;
    while (ls_band_next_frame(&band, 0, wire, sizeof wire)) {
        frames++;
        uint32_t now = ticks();
        frame_worst = elapsed(from, now) > frame_worst ? elapsed(from, now) : frame_worst;
        from = now;
    }
    uint32_t frame_ticks = elapsed(t0, ticks());
    printf("frame_encoded %lu\n", (unsigned long)INSTRUCTIONS(frame_ticks, frames));
    printf("frame_worst %lu\n", (unsigned long)INSTRUCTIONS(frame_worst + 1u, 1u));
    return 0;
}
