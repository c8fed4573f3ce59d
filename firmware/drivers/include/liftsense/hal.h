/* The little the drivers need from a board: I2C register reads and writes (and a delay). The Arduino sketch wires
 * these to Wire; the tests to a register model of each sensor. */
#ifndef LIFTSENSE_HAL_H
#define LIFTSENSE_HAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* 0 on success; a burst read of a FIFO data register returns successive FIFO bytes */
    int (*read)(void *context, uint8_t address, uint8_t reg, uint8_t *data, size_t len);
    int (*write)(void *context, uint8_t address, uint8_t reg, const uint8_t *data, size_t len);
    void (*delay_ms)(void *context, uint32_t ms);
    void *context;
} ls_i2c;

/* one register, one byte: what every driver's configuration is made of */
static inline int ls_i2c_write_reg(const ls_i2c *bus, uint8_t address, uint8_t reg, uint8_t value) {
    return bus->write(bus->context, address, reg, &value, 1);
}

#endif
