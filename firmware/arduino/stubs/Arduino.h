// The Arduino API surface the sketch uses, declared only: `make -C firmware sketch-check` type-checks the sketch
// against the core with the host's C++ compiler (the real SAMD core cannot be installed here). Not linked.
#pragma once
#include <stddef.h>
#include <stdint.h>
#define LED_BUILTIN 13
#define HIGH 1
#define OUTPUT 1
#define A0 14
#define INPUT_PULLUP 2
#define FALLING 2
uint32_t millis(void);
uint32_t micros(void);
void delay(uint32_t ms);
void pinMode(int pin, int mode);
void digitalWrite(int pin, int value);
int analogRead(int pin);
int digitalPinToInterrupt(int pin);
void attachInterrupt(int interrupt, void (*handler)(void), int mode);
void noInterrupts(void);
void interrupts(void);
struct SerialPort {
  void begin(long baud);
  size_t print(const char *text);
  size_t print(char c);
  size_t print(unsigned char value, int base = 10);
  size_t print(int value, int base = 10);
  size_t print(unsigned int value, int base = 10);
  size_t print(long value, int base = 10);
  size_t print(unsigned long value, int base = 10);
  size_t println(const char *text);
  size_t println(void);
  size_t write(const uint8_t *data, size_t len);
};
extern SerialPort Serial;
