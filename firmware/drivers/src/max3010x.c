/* MAX3010x driver (see max3010x.h). */
#include "liftsense/max3010x.h"

max3010x_status max3010x_init(const ls_i2c *bus) {
    uint8_t id = 0;
    if (bus->read(bus->context, MAX3010X_ADDRESS, MAX3010X_PART_ID, &id, 1) != 0) return MAX3010X_BUS;
    if (id != MAX3010X_PART_ID_VALUE) return MAX3010X_NO_DEVICE;
    if (ls_i2c_write_reg(bus, MAX3010X_ADDRESS, MAX3010X_MODE_CONFIG, MAX3010X_MODE_RESET) != 0) return MAX3010X_BUS;
    uint8_t mode = MAX3010X_MODE_RESET;
    for (int tries = 0; (mode & MAX3010X_MODE_RESET) && tries < 10; tries++) { /* the bit clears itself */
        bus->delay_ms(bus->context, 1);
        if (bus->read(bus->context, MAX3010X_ADDRESS, MAX3010X_MODE_CONFIG, &mode, 1) != 0) return MAX3010X_BUS;
    }
    if (mode & MAX3010X_MODE_RESET) return MAX3010X_RESET_STUCK;
    const uint8_t settings[][2] = {
        {MAX3010X_FIFO_CONFIG, MAX3010X_FIFO_CONFIG_VALUE},
        {MAX3010X_SPO2_CONFIG, MAX3010X_SPO2_CONFIG_VALUE},
        {MAX3010X_LED1_PA, MAX3010X_LED_CURRENT},
        {MAX3010X_LED2_PA, MAX3010X_LED_CURRENT},
        {MAX3010X_INTR_ENABLE_1, MAX3010X_A_FULL_EN},
        {MAX3010X_FIFO_WR_PTR, 0},
        {MAX3010X_OVF_COUNTER, 0},
        {MAX3010X_FIFO_RD_PTR, 0},
        {MAX3010X_MODE_CONFIG, MAX3010X_MODE_SPO2}, /* last: sampling starts */
    };
    for (unsigned i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        if (ls_i2c_write_reg(bus, MAX3010X_ADDRESS, settings[i][0], settings[i][1]) != 0) return MAX3010X_BUS;
    }
    return MAX3010X_OK;
}

int max3010x_drain(const ls_i2c *bus, uint32_t red[MAX3010X_FIFO_DEPTH], uint32_t ir[MAX3010X_FIFO_DEPTH],
                   uint32_t *lost) {
    uint8_t status, ptrs[3]; /* FIFO_WR_PTR, OVF_COUNTER, FIFO_RD_PTR: consecutive registers */
    if (bus->read(bus->context, MAX3010X_ADDRESS, MAX3010X_INTR_STATUS_1, &status, 1) != 0) return -1;
    if (bus->read(bus->context, MAX3010X_ADDRESS, MAX3010X_FIFO_WR_PTR, ptrs, 3) != 0) return -1;
    uint32_t count = (uint32_t)(ptrs[0] - ptrs[2]) & (MAX3010X_FIFO_DEPTH - 1u);
    *lost = ptrs[1] & 0x1Fu;
    if (count == 0 && *lost) count = MAX3010X_FIFO_DEPTH; /* full: the pointers meet */
    for (uint32_t i = 0; i < count; i++) { /* one sample at a time: 6 bytes, red then IR, big-endian, 18 bits */
        uint8_t b[6];
        if (bus->read(bus->context, MAX3010X_ADDRESS, MAX3010X_FIFO_DATA, b, 6) != 0) return -1;
        red[i] = (((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2]) & 0x3FFFFu;
        ir[i] = (((uint32_t)b[3] << 16) | ((uint32_t)b[4] << 8) | b[5]) & 0x3FFFFu;
    }
    return (int)count;
}
