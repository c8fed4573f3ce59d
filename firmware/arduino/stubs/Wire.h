#pragma once
#include "Arduino.h"
struct TwoWire {
  void begin(void);
  void setClock(uint32_t hz);
  void beginTransmission(uint8_t address);
  size_t write(uint8_t byte);
  size_t write(const uint8_t *data, size_t len);
  uint8_t endTransmission(bool stop = true);
  uint8_t requestFrom(uint8_t address, uint8_t len);
  int read(void);
};
extern TwoWire Wire;
