/* The band's accelerometer Kalman filter: per axis, a scalar random-walk model (see liftsense/ppg/kalman.py, the
 * reference this must match bit for bit, for the model and the noise settings). Single precision, no FMA. */
#ifndef LIFTSENSE_KALMAN_H
#define LIFTSENSE_KALMAN_H

#define LS_KALMAN_Q_G2 (0.05f * 0.05f) /* process noise per sample, g^2 */
#define LS_KALMAN_R_G2 (0.02f * 0.02f) /* measurement noise, g^2 */
#define LS_KALMAN_P0_G2 1.0f

typedef struct {
    float x[3]; /* the estimate per axis, g */
    float p[3]; /* its variance */
    float q, r;
    int started;
} ls_kalman;

void ls_kalman_init(ls_kalman *filter, float q, float r);
/* one reading (g per axis) in, the filtered acceleration out */
void ls_kalman_step(ls_kalman *filter, const float z[3], float out[3]);

#endif
