/* MPU9250 accelerometer driver (see mpu9250.h). */
#include "liftsense/mpu9250.h"

mpu9250_status mpu9250_init(const ls_i2c *bus) {
    uint8_t id = 0;
    if (bus->read(bus->context, MPU9250_ADDRESS, MPU9250_WHO_AM_I, &id, 1) != 0) return MPU9250_BUS;
    if (id != MPU9250_WHO_AM_I_VALUE) return MPU9250_NO_DEVICE;
    if (ls_i2c_write_reg(bus, MPU9250_ADDRESS, MPU9250_PWR_MGMT_1, MPU9250_RESET) != 0) return MPU9250_BUS;
    bus->delay_ms(bus->context, 100); /* the reset takes up to 100 ms */
    const uint8_t settings[][2] = {
        {MPU9250_PWR_MGMT_1, MPU9250_CLOCK_PLL},
        {MPU9250_CONFIG, MPU9250_CONFIG_VALUE},
        {MPU9250_SMPLRT_DIV, MPU9250_DIVIDER},
        {MPU9250_ACCEL_CONFIG, MPU9250_ACCEL_4G},
        {MPU9250_ACCEL_CONFIG2, MPU9250_ACCEL_DLPF},
        {MPU9250_USER_CTRL, MPU9250_FIFO_RESET},
        {MPU9250_FIFO_EN, MPU9250_FIFO_ACCEL},
        {MPU9250_USER_CTRL, MPU9250_FIFO_ENABLE}, /* last: the FIFO starts filling */
    };
    for (unsigned i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        if (ls_i2c_write_reg(bus, MPU9250_ADDRESS, settings[i][0], settings[i][1]) != 0) return MPU9250_BUS;
    }
    return MPU9250_OK;
}

int mpu9250_drain(const ls_i2c *bus, int16_t acc[MPU9250_FIFO_SAMPLES][3], bool *overflowed) {
    uint8_t status, count_bytes[2];
    if (bus->read(bus->context, MPU9250_ADDRESS, MPU9250_INT_STATUS, &status, 1) != 0) return -1;
    if (bus->read(bus->context, MPU9250_ADDRESS, MPU9250_FIFO_COUNTH, count_bytes, 2) != 0) return -1;
    *overflowed = (status & MPU9250_OVERFLOW) != 0;
    uint32_t samples = ((((uint32_t)count_bytes[0] & 0x1Fu) << 8) | count_bytes[1]) / 6u; /* whole samples only */
    if (samples > MPU9250_FIFO_SAMPLES) samples = MPU9250_FIFO_SAMPLES;
    for (uint32_t i = 0; i < samples; i++) {
        uint8_t b[6];
        if (bus->read(bus->context, MPU9250_ADDRESS, MPU9250_FIFO_R_W, b, 6) != 0) return -1;
        for (int a = 0; a < 3; a++) acc[i][a] = (int16_t)(uint16_t)(((uint16_t)b[2 * a] << 8) | b[2 * a + 1]);
    }
    return (int)samples;
}
