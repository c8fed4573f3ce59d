/* MAX30102/MAX30105 PPG sensor: red and IR at exactly 125 Hz (1000 samples/s, 8-sample averaging), read from its
 * 32-sample FIFO (256 ms) with the overflow counter reported. Register facts: MAX30102 datasheet (Rev 1, 2018),
 * table 1 (register map) and the FIFO section; see ../shared/STACK_NOTES.md. */
#ifndef LIFTSENSE_MAX3010X_H
#define LIFTSENSE_MAX3010X_H

#include <stdint.h>

#include "liftsense/hal.h"

#define MAX3010X_ADDRESS 0x57u
#define MAX3010X_INTR_STATUS_1 0x00u /* reading it clears the interrupt */
#define MAX3010X_INTR_ENABLE_1 0x02u
#define MAX3010X_FIFO_WR_PTR 0x04u
#define MAX3010X_OVF_COUNTER 0x05u
#define MAX3010X_FIFO_RD_PTR 0x06u
#define MAX3010X_FIFO_DATA 0x07u
#define MAX3010X_FIFO_CONFIG 0x08u
#define MAX3010X_MODE_CONFIG 0x09u
#define MAX3010X_SPO2_CONFIG 0x0Au
#define MAX3010X_LED1_PA 0x0Cu /* red */
#define MAX3010X_LED2_PA 0x0Du /* IR */
#define MAX3010X_PART_ID 0xFFu
#define MAX3010X_PART_ID_VALUE 0x15u
#define MAX3010X_FIFO_DEPTH 32u
#define MAX3010X_OVF_SATURATED 31u /* OVF_COUNTER's maximum: the loss was this or more */

/* FIFO_CONFIG: SMP_AVE = 8 (0b011 << 5), FIFO_ROLLOVER_EN = 0 (a full FIFO keeps its oldest samples and counts
 * the new ones it loses in OVF_COUNTER, so the gap sits after what is read), FIFO_A_FULL = 15 (bits 3:0: the
 * interrupt comes with 15 free places left, 17 samples unread: every 136 ms, 120 ms before the FIFO is full) */
#define MAX3010X_FIFO_CONFIG_VALUE 0x6Fu
#define MAX3010X_A_FULL_UNREAD 17u
/* INTR_ENABLE_1: A_FULL_EN (bit 7) only: the INT pin (open drain, active low) goes low when the FIFO is almost
 * full, and high again when INTR_STATUS_1 is read (max3010x_drain does) */
#define MAX3010X_A_FULL_EN 0x80u
/* MODE_CONFIG: SpO2 mode (red and IR), 0b011; RESET is bit 6 */
#define MAX3010X_MODE_SPO2 0x03u
#define MAX3010X_MODE_RESET 0x40u
/* SPO2_CONFIG: ADC range 4096 nA (0b01 << 5), 1000 samples/s (0b101 << 2), pulse width 118 µs (0b01: 16-bit) --
 * red and IR at 1000/s allow at most 118 µs */
#define MAX3010X_SPO2_CONFIG_VALUE 0x35u
#define MAX3010X_PULSE_WIDTH_US 118u
#define MAX3010X_ADC_RANGE_NA 4096u
#define MAX3010X_LED_CURRENT 0x24u /* 7.2 mA */

typedef enum { MAX3010X_OK = 0, MAX3010X_NO_DEVICE, MAX3010X_BUS, MAX3010X_RESET_STUCK } max3010x_status;

max3010x_status max3010x_init(const ls_i2c *bus);
/* Drain the FIFO: up to 32 (red, IR) pairs, oldest first, into `red`/`ir`; *lost gets the samples the sensor
 * dropped since the last drain (OVF_COUNTER, saturating at 31). Clears the almost-full interrupt first, so the INT
 * pin can fall again for the next drain. Returns the count read, or -1 on a bus error. */
int max3010x_drain(const ls_i2c *bus, uint32_t red[MAX3010X_FIFO_DEPTH], uint32_t ir[MAX3010X_FIFO_DEPTH],
                   uint32_t *lost);

#endif
