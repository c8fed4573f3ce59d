"""End-to-end jobs that the thin entry points in training/ call with a plain config dict."""
