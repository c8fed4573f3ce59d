/* The MAX3010x driver against a register model of the sensor: the initialisation sequence, FIFO reads across the
 * 32-sample ring's wrap, and overflow (a stall longer than 256 ms) counted, never hidden. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "liftsense/max3010x.h"

/* the sensor as its datasheet describes it: registers, and a 32-sample FIFO with write and read pointers */
typedef struct {
    uint8_t regs[256];
    uint32_t fifo_red[32], fifo_ir[32];
    uint8_t wr, rd, ovf, count;
    unsigned reset_reads; /* MODE_CONFIG reads until RESET clears */
    int fail;             /* the bus fails from now on */
    unsigned writes;
    uint8_t write_log[32][2];
    int int_low; /* the INT pin: low while the almost-full interrupt is pending */
} sensor;

/* A_FULL: asserted (INT low) when the FIFO's free places fall to FIFO_A_FULL, if enabled; INTR_STATUS_1 clears it */
static void sensor_check_a_full(sensor *s) {
    unsigned free_places = 32u - s->count;
    if ((s->regs[MAX3010X_INTR_ENABLE_1] & MAX3010X_A_FULL_EN) && free_places == (s->regs[MAX3010X_FIFO_CONFIG] & 0x0Fu))
        s->int_low = 1;
}

static void sensor_sample(sensor *s, uint32_t red, uint32_t ir) { /* the sensor's ADC adds one (averaged) sample */
    if (s->count == 32) { /* rollover disabled: the new sample is lost, and counted */
        if (s->ovf < 31) s->ovf++;
        return;
    }
    s->fifo_red[s->wr] = red;
    s->fifo_ir[s->wr] = ir;
    s->wr = (uint8_t)((s->wr + 1) & 31);
    s->count++;
    sensor_check_a_full(s);
}

static int model_read(void *context, uint8_t address, uint8_t reg, uint8_t *data, size_t len) {
    sensor *s = context;
    if (s->fail || address != MAX3010X_ADDRESS) return -1;
    for (size_t i = 0; i < len; i++) {
        if (reg == MAX3010X_FIFO_DATA) { /* burst reads of FIFO_DATA pop sample bytes */
            static unsigned byte_in_sample = 0;
            uint32_t v = byte_in_sample < 3 ? s->fifo_red[s->rd] : s->fifo_ir[s->rd];
            unsigned k = byte_in_sample % 3;
            data[i] = (uint8_t)(v >> (16 - 8 * k));
            if (++byte_in_sample == 6) {
                byte_in_sample = 0;
                s->rd = (uint8_t)((s->rd + 1) & 31);
                s->count--;
                s->ovf = 0; /* reading the FIFO clears the overflow counter */
            }
            continue;
        }
        uint8_t r = (uint8_t)(reg + i);
        if (r == MAX3010X_INTR_STATUS_1) {
            data[i] = s->int_low ? 0x80 : 0x00;
            s->int_low = 0;
        } else if (r == MAX3010X_FIFO_WR_PTR) data[i] = s->wr;
        else if (r == MAX3010X_FIFO_RD_PTR) data[i] = s->rd;
        else if (r == MAX3010X_OVF_COUNTER) data[i] = s->ovf;
        else if (r == MAX3010X_MODE_CONFIG && (s->regs[r] & MAX3010X_MODE_RESET) && s->reset_reads-- == 0) {
            s->regs[r] &= (uint8_t)~MAX3010X_MODE_RESET;
            data[i] = s->regs[r];
        } else data[i] = s->regs[r];
    }
    return 0;
}

static int model_write(void *context, uint8_t address, uint8_t reg, const uint8_t *data, size_t len) {
    sensor *s = context;
    if (s->fail || address != MAX3010X_ADDRESS || len != 1) return -1;
    if (s->writes < 32) {
        s->write_log[s->writes][0] = reg;
        s->write_log[s->writes][1] = data[0];
    }
    s->writes++;
    if (reg == MAX3010X_FIFO_WR_PTR) s->wr = data[0];
    else if (reg == MAX3010X_FIFO_RD_PTR) s->rd = data[0], s->count = (uint8_t)((s->wr - s->rd) & 31);
    else if (reg == MAX3010X_OVF_COUNTER) s->ovf = data[0];
    else s->regs[reg] = data[0];
    return 0;
}

static void no_delay(void *context, uint32_t ms) {
    (void)context;
    (void)ms;
}

static ls_i2c bus_of(sensor *s) {
    ls_i2c bus = {model_read, model_write, no_delay, s};
    return bus;
}

static void init_resets_and_configures_125_hz_red_and_ir(void **state) {
    (void)state;
    static sensor s;
    memset(&s, 0, sizeof s);
    s.regs[MAX3010X_PART_ID] = MAX3010X_PART_ID_VALUE;
    s.reset_reads = 2;
    ls_i2c bus = bus_of(&s);
    assert_int_equal(max3010x_init(&bus), MAX3010X_OK);
    assert_int_equal(s.write_log[0][0], MAX3010X_MODE_CONFIG); /* reset first */
    assert_int_equal(s.write_log[0][1], MAX3010X_MODE_RESET);
    assert_int_equal(s.regs[MAX3010X_FIFO_CONFIG] & 0xF0, 0x60); /* 8-sample averaging: 1000/s -> 125 Hz, no rollover */
    assert_int_equal(s.regs[MAX3010X_INTR_ENABLE_1], 0x80);     /* the almost-full interrupt only */
    assert_int_equal(s.regs[MAX3010X_SPO2_CONFIG] & 0x1C, 0x14); /* 1000 samples/s */
    assert_int_equal(s.regs[MAX3010X_SPO2_CONFIG] & 0x03, 0x01); /* 118 µs: the longest red+IR allows at 1000/s */
    assert_int_equal(s.write_log[s.writes - 1][0], MAX3010X_MODE_CONFIG); /* sampling starts last */
    assert_int_equal(s.regs[MAX3010X_MODE_CONFIG], MAX3010X_MODE_SPO2);

    memset(&s, 0, sizeof s);
    s.regs[MAX3010X_PART_ID] = 0x11; /* not a MAX3010x */
    assert_int_equal(max3010x_init(&bus), MAX3010X_NO_DEVICE);
    s.fail = 1;
    assert_int_equal(max3010x_init(&bus), MAX3010X_BUS);
}

static void the_fifo_is_drained_in_order_across_its_wrap(void **state) {
    (void)state;
    static sensor s;
    memset(&s, 0, sizeof s);
    s.wr = s.rd = 27; /* the pointers near the end of the ring */
    ls_i2c bus = bus_of(&s);
    uint32_t red[32], ir[32], lost;
    for (uint32_t k = 0; k < 10; k++) sensor_sample(&s, 0x3FF00u + k, 0x100u + k);
    assert_int_equal(max3010x_drain(&bus, red, ir, &lost), 10);
    assert_int_equal(lost, 0);
    for (uint32_t k = 0; k < 10; k++) {
        assert_int_equal(red[k], 0x3FF00u + k);
        assert_int_equal(ir[k], 0x100u + k);
    }
    assert_int_equal(s.rd, 5); /* 27 + 10 wrapped */
    assert_int_equal(max3010x_drain(&bus, red, ir, &lost), 0);
}

static void a_stall_past_256_ms_is_counted_as_lost(void **state) {
    (void)state;
    static sensor s;
    memset(&s, 0, sizeof s);
    s.wr = s.rd = 30;
    ls_i2c bus = bus_of(&s);
    uint32_t red[32], ir[32], lost;
    for (uint32_t k = 0; k < 45; k++) sensor_sample(&s, k, k); /* 360 ms without a read */
    assert_int_equal(max3010x_drain(&bus, red, ir, &lost), 32); /* the oldest 32 are kept ... */
    assert_int_equal(lost, 13);                                 /* ... and the 13 after them were lost */
    assert_int_equal(red[31], 31);
    for (uint32_t k = 0; k < 40; k++) sensor_sample(&s, 100 + k, 0);
    assert_int_equal(max3010x_drain(&bus, red, ir, &lost), 32);
    assert_int_equal(lost, 8);
    s.fail = 1;
    assert_int_equal(max3010x_drain(&bus, red, ir, &lost), -1);
}

static void the_int_pin_falls_at_17_unread_samples_and_each_drain_rearms_it(void **state) {
    (void)state;
    static sensor s;
    memset(&s, 0, sizeof s);
    s.regs[MAX3010X_PART_ID] = MAX3010X_PART_ID_VALUE;
    ls_i2c bus = bus_of(&s);
    assert_int_equal(max3010x_init(&bus), MAX3010X_OK);
    uint32_t red[32], ir[32], lost;
    for (int round = 0; round < 3; round++) {
        for (uint32_t k = 0; k < MAX3010X_A_FULL_UNREAD - 1; k++) sensor_sample(&s, k, k);
        assert_false(s.int_low);
        sensor_sample(&s, 99, 99); /* the 17th: 120 ms left before the FIFO is full */
        assert_true(s.int_low);
        assert_int_equal(max3010x_drain(&bus, red, ir, &lost), (int)MAX3010X_A_FULL_UNREAD);
        assert_false(s.int_low); /* high again: the next almost-full is a new falling edge */
        assert_int_equal(lost, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_resets_and_configures_125_hz_red_and_ir),
        cmocka_unit_test(the_int_pin_falls_at_17_unread_samples_and_each_drain_rearms_it),
        cmocka_unit_test(the_fifo_is_drained_in_order_across_its_wrap),
        cmocka_unit_test(a_stall_past_256_ms_is_counted_as_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
