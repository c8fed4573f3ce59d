#pragma once
#include "Arduino.h"
#define WL_CONNECTED 3
struct WiFiClass {
  void setPins(int cs, int irq, int rst, int en);
  int status(void);
  int begin(const char *ssid, const char *password);
};
extern WiFiClass WiFi;
struct WiFiClient {
  bool connected(void);
  int connect(const char *host, uint16_t port);
  size_t write(const uint8_t *data, size_t len);
  int available(void);
  int read(uint8_t *buffer, size_t len);
};
