/* The band's side of protocol v1, without any I/O: samples in (from the sampler), wire bytes out (to the socket),
 * bytes in (from the socket), and what the gateway asked for.
 *
 * The sampler calls ls_band_sample() at 125 Hz (ls_schedule_due() says how many samples are due from a microsecond
 * clock); the connection loop calls ls_band_connected(), then repeatedly ls_band_next_frame() and sends what it
 * gives, and feeds every received byte to ls_band_receive(). The band keeps every sample until the gateway's ACK
 * covers it (the ring), sends HELLO first on every connection and resumes from the gateway's answer.
 */
#ifndef LIFTSENSE_BAND_H
#define LIFTSENSE_BAND_H

#include <stdbool.h>
#include <stdint.h>

#include "liftsense/protocol.h"
#include "liftsense/ring.h"

#define LS_SAMPLE_PERIOD_US 8000u /* 125 Hz */
#define LS_FRAME_SAMPLES 25u      /* 200 ms a frame */

typedef struct {
    uint32_t next_due_us; /* when the next sample is due (wraps with the clock) */
    bool started;
} ls_schedule;

/* samples due at `now_us` (each advances the schedule by exactly one period, so the rate never drifts from the
 * clock's); after a stall longer than the sensor FIFO, the caller reads what the FIFO kept and counts the rest */
uint32_t ls_schedule_due(ls_schedule *schedule, uint32_t now_us);

typedef struct {
    uint32_t band_id;
    ls_hello hello;
    ls_ring ring;
    ls_reader reader;
    bool connected;
    bool hello_sent;
    bool resume_known; /* the gateway's first ACK on this connection says where to resume */
    uint32_t cursor;   /* the next sample to send on this connection */
    uint32_t start_ms; /* device time of sample 0: the schedule is exact, so sample n was taken at start + 8 n ms */
    bool time_sync_pending;
    bool flush; /* the recording ended: send the last partial frame too */
    uint8_t time_sync_echo[8];
    void (*on_command)(void *context, uint8_t code, uint16_t arg, const char *reason, uint16_t reason_len);
    void *context;
    uint32_t commands, acks, errors;
} ls_band;

/* `ring_storage`: capacity * LS_SAMPLE_BYTES bytes; `start_ms`: the device time of the first sample */
void ls_band_init(ls_band *band, uint32_t band_id, const ls_hello *hello, uint8_t *ring_storage, uint32_t capacity,
                  uint32_t start_ms);
void ls_band_sample(ls_band *band, const ls_sample *sample);
/* `n` samples the sensors lost (a FIFO overflow, see pair.h): their numbers pass unsent, and the gateway is told */
void ls_band_sensor_lost(ls_band *band, uint32_t n);
void ls_band_connected(ls_band *band);
void ls_band_disconnected(ls_band *band);
/* the next frame to send (wire bytes into `out`), or 0 when there is nothing to send now */
size_t ls_band_next_frame(ls_band *band, uint32_t now_ms, uint8_t *out, size_t capacity);
void ls_band_receive(ls_band *band, const uint8_t *bytes, size_t len);

#endif
