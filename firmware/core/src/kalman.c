/* The accelerometer Kalman filter (see kalman.h). Each operation is written as its own rounding step, in the order of
 * the Python reference; volatile-free, since -std=c99 keeps GCC from contracting into fused multiply-adds. */
#include "liftsense/kalman.h"

void ls_kalman_init(ls_kalman *filter, float q, float r) {
    for (int a = 0; a < 3; a++) {
        filter->x[a] = 0.0f;
        filter->p[a] = LS_KALMAN_P0_G2;
    }
    filter->q = q;
    filter->r = r;
    filter->started = 0;
}

void ls_kalman_step(ls_kalman *filter, const float z[3], float out[3]) {
    if (!filter->started) { /* the first reading seeds the estimate */
        for (int a = 0; a < 3; a++) filter->x[a] = z[a];
        filter->started = 1;
    }
    for (int a = 0; a < 3; a++) {
        float p = filter->p[a] + filter->q;
        float k = p / (p + filter->r);
        float x = filter->x[a] + k * (z[a] - filter->x[a]);
        filter->p[a] = (1.0f - k) * p;
        filter->x[a] = x;
        out[a] = x;
    }
}
