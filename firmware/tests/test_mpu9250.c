/* The MPU9250 driver against a register model: the reset and configuration for 125 Hz at +-4 g, whole samples
 * drained from the 512-byte FIFO (a partial one stays), big-endian counts, and overflow reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "liftsense/mpu9250.h"

typedef struct {
    uint8_t regs[256];
    uint8_t fifo[512];
    unsigned head, count; /* bytes */
    int overflow, fail;
    uint32_t delayed_ms;
    unsigned writes;
    uint8_t write_log[32][2];
} imu;

static void imu_sample(imu *m, int16_t x, int16_t y, int16_t z) { /* the sensor writes 6 bytes at 125 Hz */
    const int16_t v[3] = {x, y, z};
    if (m->count + 6 > sizeof m->fifo) { /* FIFO_MODE 1: full keeps the oldest */
        m->overflow = 1;
        return;
    }
    for (int a = 0; a < 3; a++) {
        m->fifo[(m->head + m->count++) % 512] = (uint8_t)((uint16_t)v[a] >> 8);
        m->fifo[(m->head + m->count++) % 512] = (uint8_t)v[a];
    }
}

static int model_read(void *context, uint8_t address, uint8_t reg, uint8_t *data, size_t len) {
    imu *m = context;
    if (m->fail || address != MPU9250_ADDRESS) return -1;
    for (size_t i = 0; i < len; i++) {
        uint8_t r = reg == MPU9250_FIFO_R_W ? reg : (uint8_t)(reg + i);
        if (r == MPU9250_FIFO_R_W) {
            data[i] = m->count ? m->fifo[m->head] : 0;
            if (m->count) m->head = (m->head + 1) % 512, m->count--;
        } else if (r == MPU9250_FIFO_COUNTH) data[i] = (uint8_t)(m->count >> 8);
        else if (r == MPU9250_FIFO_COUNTH + 1) data[i] = (uint8_t)m->count;
        else if (r == MPU9250_INT_STATUS) data[i] = m->overflow ? MPU9250_OVERFLOW : 0, m->overflow = 0;
        else data[i] = m->regs[r];
    }
    return 0;
}

static int model_write(void *context, uint8_t address, uint8_t reg, const uint8_t *data, size_t len) {
    imu *m = context;
    if (m->fail || address != MPU9250_ADDRESS || len != 1) return -1;
    if (m->writes < 32) m->write_log[m->writes][0] = reg, m->write_log[m->writes][1] = data[0];
    m->writes++;
    if (reg == MPU9250_USER_CTRL && (data[0] & MPU9250_FIFO_RESET)) m->head = m->count = 0;
    m->regs[reg] = data[0];
    return 0;
}

static void delay(void *context, uint32_t ms) { ((imu *)context)->delayed_ms += ms; }

static void init_resets_and_configures_125_hz_at_4_g(void **state) {
    (void)state;
    static imu m;
    memset(&m, 0, sizeof m);
    m.regs[MPU9250_WHO_AM_I] = MPU9250_WHO_AM_I_VALUE;
    ls_i2c bus = {model_read, model_write, delay, &m};
    imu_sample(&m, 1, 2, 3); /* stale data from before: the FIFO is reset */
    assert_int_equal(mpu9250_init(&bus), MPU9250_OK);
    assert_int_equal(m.write_log[0][0], MPU9250_PWR_MGMT_1);
    assert_int_equal(m.write_log[0][1], MPU9250_RESET);
    assert_true(m.delayed_ms >= 100);
    assert_int_equal(m.regs[MPU9250_SMPLRT_DIV], 7); /* 1000 / (1 + 7) = 125 Hz */
    assert_int_equal(m.regs[MPU9250_CONFIG] & 0x07, 1); /* DLPF on: the 1 kHz internal rate the divider needs */
    assert_int_equal(m.regs[MPU9250_ACCEL_CONFIG] & 0x18, 0x08); /* +-4 g */
    assert_int_equal(m.regs[MPU9250_FIFO_EN], MPU9250_FIFO_ACCEL);
    assert_int_equal(m.write_log[m.writes - 1][1], MPU9250_FIFO_ENABLE);
    assert_int_equal(m.count, 0);
    m.regs[MPU9250_WHO_AM_I] = 0x70; /* an MPU6500 answers 0x70: not this part */
    assert_int_equal(mpu9250_init(&bus), MPU9250_NO_DEVICE);
}

static void whole_samples_are_drained_and_overflow_is_reported(void **state) {
    (void)state;
    static imu m;
    memset(&m, 0, sizeof m);
    m.head = 500; /* across the FIFO's wrap */
    ls_i2c bus = {model_read, model_write, delay, &m};
    int16_t acc[MPU9250_FIFO_SAMPLES][3];
    bool overflowed;
    for (int k = 0; k < 10; k++) imu_sample(&m, (int16_t)(8192 + k), (int16_t)-k, INT16_MIN);
    m.fifo[(m.head + m.count++) % 512] = 0xAB; /* half a sample being written: it stays */
    assert_int_equal(mpu9250_drain(&bus, acc, &overflowed), 10);
    assert_false(overflowed);
    assert_int_equal(acc[9][0], 8201);
    assert_int_equal(acc[9][1], -9);
    assert_int_equal(acc[0][2], INT16_MIN);
    assert_int_equal(m.count, 1);
    m.count = 0;
    for (int k = 0; k < 100; k++) imu_sample(&m, (int16_t)k, 0, 0); /* 0.8 s: more than the FIFO holds */
    assert_int_equal(mpu9250_drain(&bus, acc, &overflowed), 85);
    assert_true(overflowed);
    assert_int_equal(acc[84][0], 84); /* the oldest 85 were kept */
    m.fail = 1;
    assert_int_equal(mpu9250_drain(&bus, acc, &overflowed), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_resets_and_configures_125_hz_at_4_g),
        cmocka_unit_test(whole_samples_are_drained_and_overflow_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
