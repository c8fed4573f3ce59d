// Copy to secrets.h (never committed: .gitignore) and fill in.
#pragma once
#define LS_WIFI_SSID "your-network"
#define LS_WIFI_PASSWORD "your-password"
#define LS_GATEWAY_HOST "192.168.1.10"
#define LS_GATEWAY_PORT 7100
#define LS_BAND_ID 1
