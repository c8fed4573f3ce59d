// LiftSense band: Adafruit Feather M0 WiFi (SAMD21, ATWINC1500), MAX3010x on I2C, MPU9250 on I2C.
// The thin board layer only: Wire for the sensors, WiFi101 for TCP, millis/micros for time. Everything else is the
// portable core in ../../core and ../../drivers (tested on the host and on an emulated Cortex-M0).
//
// Both sensors sample at 125 Hz into their own FIFOs (256 ms and 680 ms). The MAX3010x's INT pin (wired to
// MAX_INT_PIN) falls when its FIFO holds 17 samples; that interrupt drains both FIFOs, pairs their readings (pair.h)
// and puts them in the RAM ring (RING_SAMPLES: 12 s). So a WiFi write that blocks for seconds (the ATWINC1500 does:
// WiFi101 issues 118, 176, 312) loses nothing while the ring lasts; what it cannot hold is dropped oldest-first and
// reported to the gateway as lost. loop() only sends frames and reads the gateway's bytes; it touches the ring
// (shared with the interrupt) with interrupts off, for the time it takes to build one frame (about 0.5 ms).
#include <SPI.h>
#include <string.h>
#include <WiFi101.h>
#include <Wire.h>

extern "C" {
#include "liftsense/band.h"
#include "liftsense/kalman.h"
#include "liftsense/max3010x.h"
#include "liftsense/mpu9250.h"
#include "liftsense/pair.h"
}

#ifndef LS_SKETCH_CHECK
#include "secrets.h"  // not committed: copy secrets.h.example
#endif

static const int MAX_INT_PIN = 11;          // the MAX3010x's INT (open drain, active low): any external-interrupt pin
static const uint32_t MISSED_DRAIN_MS = 200;  // no interrupt for this long (an edge missed): loop() drains instead
static const uint32_t RING_SAMPLES = 1500;  // 12 s at 125 Hz, 18 kB of the SAMD21's 32 kB
static uint8_t ring_storage[RING_SAMPLES * LS_SAMPLE_BYTES];
static ls_band band;
static ls_kalman kalman;
static ls_pairer pairer;
static ls_schedule schedule;
static WiFiClient client;
static uint32_t retry_at_ms = 0, backoff_ms = 250;
static volatile uint32_t last_drain_ms = 0;
// a COMMAND arrives with interrupts off (see loop()): kept here, acted on after
static struct {
  bool pending;
  uint8_t code;
  uint16_t arg, len;
  char reason[LS_MAX_REASON];
} command;

static int i2c_read(void *, uint8_t address, uint8_t reg, uint8_t *data, size_t len) {
  Wire.beginTransmission(address);
  Wire.write(reg);
  if (Wire.endTransmission(false) != 0) return -1;
  if (Wire.requestFrom(address, (uint8_t)len) != len) return -1;
  for (size_t i = 0; i < len; i++) data[i] = Wire.read();
  return 0;
}

static int i2c_write(void *, uint8_t address, uint8_t reg, const uint8_t *data, size_t len) {
  Wire.beginTransmission(address);
  Wire.write(reg);
  Wire.write(data, len);
  return Wire.endTransmission() == 0 ? 0 : -1;
}

static void delay_ms(void *, uint32_t ms) { delay(ms); }

static const ls_i2c bus = {i2c_read, i2c_write, delay_ms, nullptr};

static void on_command(void *, uint8_t code, uint16_t arg, const char *reason, uint16_t len) {
  command.code = code;
  command.arg = arg;
  command.len = len < sizeof command.reason ? len : sizeof command.reason;
  memcpy(command.reason, reason, command.len);
  command.pending = true;
}

static void act_on_command() {
  if (!command.pending) return;
  command.pending = false;
  if (command.code == LS_COMMAND_REST_OVER) {
    digitalWrite(LED_BUILTIN, HIGH);  // the rest is over: the lifter's cue (a vibration motor on a real band)
  }
  Serial.print("COMMAND ");
  Serial.print(command.code);
  Serial.print(' ');
  Serial.print(command.arg);
  Serial.print(' ');
  Serial.write((const uint8_t *)command.reason, command.len);
  Serial.println();
}

// a pair of readings: the acceleration Kalman-filtered (in g, as the paper's band did), then into the ring
static void on_pair(void *, const ls_sample *raw) {
  float z[3], filtered[3];
  for (int a = 0; a < 3; a++) z[a] = raw->acc[a] / (float)MPU9250_LSB_PER_G;
  ls_kalman_step(&kalman, z, filtered);
  ls_sample s = {raw->red, raw->ir, {(int16_t)(filtered[0] * MPU9250_LSB_PER_G), (int16_t)(filtered[1] * MPU9250_LSB_PER_G),
                                     (int16_t)(filtered[2] * MPU9250_LSB_PER_G)}};
  ls_band_sample(&band, &s);
}

static void on_lost(void *, uint32_t n) { ls_band_sensor_lost(&band, n); }

// both FIFOs, from the MAX3010x's interrupt (or from loop() with interrupts off, after a missed edge); a PPG read
// that fails leaves its samples in the sensor for the next drain (and the clock's count with them), an accelerometer
// read that fails leaves the PPG readings unpaired (lost beyond the pairer's lead)
static void drain_sensors() {
  static uint32_t red[MAX3010X_FIFO_DEPTH], ir[MAX3010X_FIFO_DEPTH];
  static int16_t acc[MPU9250_FIFO_SAMPLES][3];
  uint32_t lost = 0;
  bool overflowed = false;
  int n_ppg = max3010x_drain(&bus, red, ir, &lost);
  if (n_ppg < 0) return;
  int n_acc = mpu9250_drain(&bus, acc, &overflowed);
  if (n_acc < 0) n_acc = 0;
  ls_pairer_drain(&pairer, red, ir, (uint32_t)n_ppg, lost, lost >= MAX3010X_OVF_SATURATED, acc, (uint32_t)n_acc,
                  overflowed, ls_schedule_due(&schedule, micros()));
  last_drain_ms = millis();
}

static void sensor_interrupt() { drain_sensors(); }

void setup() {
  Serial.begin(115200);
  pinMode(LED_BUILTIN, OUTPUT);
  if (LS_WIFI_SSID[0] == '\0') {  // secrets.h not filled in: say so rather than retry forever
    Serial.println("set LS_WIFI_SSID and LS_WIFI_PASSWORD in secrets.h (copy secrets.h.example)");
    while (true) delay(1000);
  }
  WiFi.setPins(8, 7, 4, 2);  // Feather M0 WiFi: CS, IRQ, RST, EN
  Wire.begin();
  Wire.setClock(400000);
  if (max3010x_init(&bus) != MAX3010X_OK || mpu9250_init(&bus) != MPU9250_OK) {
    Serial.println("sensor missing");
    while (true) delay(1000);
  }
  ls_hello hello = {0x0100, 125, (uint32_t)micros() ^ ((uint32_t)analogRead(A0) << 16), MPU9250_LSB_PER_G,
                    MAX3010X_PULSE_WIDTH_US, MAX3010X_ADC_RANGE_NA};
  ls_band_init(&band, LS_BAND_ID, &hello, ring_storage, RING_SAMPLES, millis());
  band.on_command = on_command;
  ls_kalman_init(&kalman, LS_KALMAN_Q_G2, LS_KALMAN_R_G2);
  ls_pairer_init(&pairer, on_pair, on_lost, nullptr);
  last_drain_ms = millis();
  pinMode(MAX_INT_PIN, INPUT_PULLUP);
  attachInterrupt(digitalPinToInterrupt(MAX_INT_PIN), sensor_interrupt, FALLING);
}

static void keep_connected() {
  if (client.connected()) return;
  if (band.connected) ls_band_disconnected(&band);
  if ((int32_t)(millis() - retry_at_ms) < 0) return;
  if (WiFi.status() != WL_CONNECTED) WiFi.begin(LS_WIFI_SSID, LS_WIFI_PASSWORD);
  if (WiFi.status() == WL_CONNECTED && client.connect(LS_GATEWAY_HOST, LS_GATEWAY_PORT)) {
    ls_band_connected(&band);
    backoff_ms = 250;
  } else {
    retry_at_ms = millis() + backoff_ms;  // back off, doubling up to 8 s
    backoff_ms = backoff_ms < 8000 ? backoff_ms * 2 : 8000;
  }
}

void loop() {
  if (millis() - last_drain_ms > MISSED_DRAIN_MS) {  // INT stayed low (a failed read): drain as the interrupt would
    noInterrupts();
    drain_sensors();
    interrupts();
  }
  keep_connected();
  act_on_command();
  if (!band.connected) return;
  static uint8_t wire[LS_MAX_WIRE];
  noInterrupts();  // the ring is the interrupt's too
  size_t n = ls_band_next_frame(&band, millis(), wire, sizeof wire);
  interrupts();
  if (n) client.write(wire, n);  // a whole frame in one call; if it blocks, the interrupt goes on sampling
  static uint8_t in[128];
  while (client.available()) {
    int got = client.read(in, sizeof in);
    if (got <= 0) break;
    noInterrupts();  // an ACK frees ring space
    ls_band_receive(&band, in, (size_t)got);
    interrupts();
  }
}
