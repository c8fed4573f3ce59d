/* MPU9250 accelerometer at exactly 125 Hz (1 kHz internal rate, sample-rate divider 7), +-4 g, read from its
 * 512-byte FIFO (85 samples, 0.68 s). Register facts: MPU-9250 register map RM-MPU-9250A-00 rev 1.6 (sections 4.4,
 * 4.5, 4.6, 4.7, 4.8, 4.19, 4.23, 4.29, 4.30); see ../shared/STACK_NOTES.md. */
#ifndef LIFTSENSE_MPU9250_H
#define LIFTSENSE_MPU9250_H

#include <stdbool.h>
#include <stdint.h>

#include "liftsense/hal.h"

#define MPU9250_ADDRESS 0x68u
#define MPU9250_SMPLRT_DIV 0x19u
#define MPU9250_CONFIG 0x1Au
#define MPU9250_ACCEL_CONFIG 0x1Cu
#define MPU9250_ACCEL_CONFIG2 0x1Du
#define MPU9250_FIFO_EN 0x23u
#define MPU9250_INT_STATUS 0x3Au
#define MPU9250_USER_CTRL 0x6Au
#define MPU9250_PWR_MGMT_1 0x6Bu
#define MPU9250_FIFO_COUNTH 0x72u
#define MPU9250_FIFO_R_W 0x74u
#define MPU9250_WHO_AM_I 0x75u
#define MPU9250_WHO_AM_I_VALUE 0x71u

#define MPU9250_RESET 0x80u       /* PWR_MGMT_1 H_RESET */
#define MPU9250_CLOCK_PLL 0x01u   /* PWR_MGMT_1 CLKSEL = 1: the best available clock */
#define MPU9250_CONFIG_VALUE 0x41u /* FIFO_MODE (a full FIFO keeps its oldest data) | DLPF_CFG 1: 1 kHz internal */
#define MPU9250_DIVIDER 7u        /* 1 kHz / (1 + 7) = 125 Hz */
#define MPU9250_ACCEL_4G 0x08u    /* ACCEL_FS_SEL = 1: +-4 g */
#define MPU9250_LSB_PER_G 8192u
#define MPU9250_ACCEL_DLPF 0x03u  /* A_DLPF_CFG 3: 41 Hz bandwidth, under the 62.5 Hz Nyquist of 125 Hz */
#define MPU9250_FIFO_ACCEL 0x08u  /* FIFO_EN: accelerometer only */
#define MPU9250_FIFO_RESET 0x04u  /* USER_CTRL FIFO_RST */
#define MPU9250_FIFO_ENABLE 0x40u /* USER_CTRL FIFO_EN */
#define MPU9250_OVERFLOW 0x10u    /* INT_STATUS FIFO_OFLOW_INT, cleared by reading it */
#define MPU9250_FIFO_SAMPLES 85u  /* 512 bytes / 6 */

typedef enum { MPU9250_OK = 0, MPU9250_NO_DEVICE, MPU9250_BUS } mpu9250_status;

mpu9250_status mpu9250_init(const ls_i2c *bus);
/* Drain whole samples from the FIFO, oldest first: (x, y, z) counts into `acc`; *overflowed says the FIFO filled
 * and newer samples were lost since the last drain. Returns the count read, or -1 on a bus error. */
int mpu9250_drain(const ls_i2c *bus, int16_t acc[MPU9250_FIFO_SAMPLES][3], bool *overflowed);

#endif
