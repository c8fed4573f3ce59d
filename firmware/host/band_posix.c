/* The whole band loop on a POSIX host: a recording replayed as the sensors, a TCP socket as the WiFi, the core as
 * on the band. For end-to-end tests against the real gateway (tests/test_firmware_e2e.py).
 *
 *   band_posix HOST PORT BAND_ID BOOT_ID RECORDING.csv SPEED [LOST_FROM,LOST_COUNT]
 *
 * RECORDING.csv: one sample per line, "red,ir,ax,ay,az" in sensor counts. SPEED: times real time. The band samples
 * on its 125 Hz schedule, keeps everything until acknowledged, reconnects with backoff, prints every COMMAND it gets
 * ("COMMAND code arg reason"), and exits 0 once the gateway has acknowledged the whole recording. LOST_FROM,LOST_COUNT:
 * the sensor's FIFO overflows there, losing that many samples (they keep their numbers, and are reported).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "liftsense/band.h"

#define RING_CAPACITY 7500u /* 60 s */

static uint8_t ring_storage[RING_CAPACITY * LS_SAMPLE_BYTES];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_command(void *context, uint8_t code, uint16_t arg, const char *reason, uint16_t len) {
    (void)context;
    printf("COMMAND %u %u %.*s\n", code, arg, (int)len, reason);
    fflush(stdout);
}

static int connect_to(const char *host, const char *port) {
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const uint8_t *data, size_t len) {
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static ls_sample *load(const char *path, size_t *count) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 1024, n = 0;
    ls_sample *s = malloc(cap * sizeof *s);
    long red, ir, ax, ay, az;
    while (s && fscanf(f, "%ld,%ld,%ld,%ld,%ld", &red, &ir, &ax, &ay, &az) == 5) {
        if (n == cap) {
            cap *= 2;
            ls_sample *bigger = realloc(s, cap * sizeof *s);
            if (!bigger) {
                free(s);
                s = NULL;
                break;
            }
            s = bigger;
        }
        s[n].red = (uint32_t)red;
        s[n].ir = (uint32_t)ir;
        s[n].acc[0] = (int16_t)ax;
        s[n].acc[1] = (int16_t)ay;
        s[n].acc[2] = (int16_t)az;
        n++;
    }
    fclose(f);
    *count = n;
    return s;
}

int main(int argc, char **argv) {
    unsigned long lost_from = 0, lost_count = 0;
    if ((argc != 7 && argc != 8) || (argc == 8 && sscanf(argv[7], "%lu,%lu", &lost_from, &lost_count) != 2)) {
        fprintf(stderr, "usage: %s HOST PORT BAND_ID BOOT_ID RECORDING.csv SPEED [LOST_FROM,LOST_COUNT]\n", argv[0]);
        return 2;
    }
    size_t total;
    ls_sample *samples = load(argv[5], &total);
    if (!samples || total == 0) {
        fprintf(stderr, "%s: no samples\n", argv[5]);
        return 2;
    }
    double speed = atof(argv[6]);
    ls_hello hello = {0x0100, 125, (uint32_t)strtoul(argv[4], NULL, 10), 8192, 411, 16384};
    ls_band band;
    ls_band_init(&band, (uint32_t)strtoul(argv[3], NULL, 10), &hello, ring_storage, RING_CAPACITY, 0);
    band.on_command = on_command;
    ls_schedule schedule = {0, false};
    double start = now_s(), retry_at = 0;
    size_t produced = 0;
    int fd = -1, connections = 0;
    uint8_t wire[LS_MAX_WIRE], in[4096];
    for (;;) {
        double t = now_s();
        uint32_t device_us = (uint32_t)((t - start) * speed * 1e6);
        for (uint32_t due = ls_schedule_due(&schedule, device_us); due && produced < total; due--) {
            if (lost_count && produced == lost_from) { /* the FIFO overflowed: these periods have no sample */
                uint32_t n = (uint32_t)(lost_count < total - produced ? lost_count : total - produced);
                ls_band_sensor_lost(&band, n);
                produced += n; /* at once: the recording ends that much sooner, the numbering is unchanged */
                continue;
            }
            ls_band_sample(&band, &samples[produced++]);
        }
        band.flush = produced == total;
        if (band.flush && band.ring.count == 0 && band.resume_known) {
            break; /* everything acknowledged */
        }
        if (fd < 0 && t >= retry_at) {
            fd = connect_to(argv[1], argv[2]);
            if (fd < 0) {
                retry_at = t + 0.2; /* the gateway is away: back off */
            } else {
                connections++;
                ls_band_connected(&band);
            }
        }
        if (fd >= 0) {
            size_t n;
            uint32_t device_ms = device_us / 1000u;
            while ((n = ls_band_next_frame(&band, device_ms, wire, sizeof wire)) > 0) {
                if (send_all(fd, wire, n) != 0) break;
            }
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 1) > 0) {
                ssize_t got = recv(fd, in, sizeof in, 0);
                if (got > 0) {
                    ls_band_receive(&band, in, (size_t)got);
                } else { /* the connection dropped: what is unacknowledged stays in the ring */
                    close(fd);
                    fd = -1;
                    ls_band_disconnected(&band);
                    retry_at = t + 0.1;
                }
            }
        } else {
            struct timespec nap = {0, 1000000};
            nanosleep(&nap, NULL);
        }
    }
    ls_frame bye = {LS_BYE, 0, band.band_id, 0, 0, 0, NULL, 0};
    ls_status st;
    size_t n = ls_encode(&bye, wire, sizeof wire, &st);
    if (fd >= 0) {
        send_all(fd, wire, n);
        close(fd);
    }
    printf("DONE %zu samples, %d connections, %u dropped, %u lost by the sensor\n", total, connections,
           band.ring.dropped, band.ring.skipped);
    free(samples);
    return 0;
}
