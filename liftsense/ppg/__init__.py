"""Wrist-PPG heart rate under motion.

The public API, used as-is by the service and the gateway:

- `Recording`, `load_recording` (SPC-2015 `.mat`, both layouts, or CSV), `load_spc2015`.
- `SpectralTracker` (the online frequency-domain estimator) and `LassoPeakPipeline` (the paper's baseline).
- `StreamingEstimator`: feed chunks of samples, get one `HeartRateEstimate` per 2 s hop over 8 s windows.
- `HeartRateEstimate`: a BPM value with a signal-quality index, or an explicit "no reading" with its reason.
"""

from liftsense.ppg.estimate import HeartRateEstimate
from liftsense.ppg.recording import Recording, RecordingError, load_recording, load_spc2015

__all__ = ["HeartRateEstimate", "Recording", "RecordingError", "load_recording", "load_spc2015"]
