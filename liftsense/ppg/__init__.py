"""Wrist-PPG heart rate under motion.

The public API, used as-is by the service and the gateway:

- `Recording`, `load_recording` (SPC-2015 `.mat`, both layouts, CSV or EDF), `load_spc2015`, `from_signals`
  (PPG and an accelerometer at its own rate, put on one time base).
- `SpectralTracker` (the online frequency-domain estimator) and, in `baselines`, the paper's Lasso + peaks.
- `StreamingEstimator`: feed chunks of samples, get one `HeartRateEstimate` per 2 s hop over 8 s windows.
- `denoise`: the paper's cleaning of a chunk (band-pass, then the accelerometer's Lasso fit removed);
  `spectral_clean`: the spectral tracker's (band-pass, decimation, the accelerometer's lines projected out).
- `HeartRateEstimate`: a BPM value with a signal-quality index, or an explicit "no reading" with its reason.
- `to_counts` / `from_counts`: a recording as the band's sensors count it, and back; `strength_session`: a
  simulated strength session (sets and rests) as a band measures it.
"""

from liftsense.ppg.band import from_counts, strength_session, to_counts
from liftsense.ppg.baselines import denoise, spectral_clean
from liftsense.ppg.estimate import HeartRateEstimate
from liftsense.ppg.recording import Recording, RecordingError, from_signals, load_recording, load_spc2015
from liftsense.ppg.spectral import SpectralConfig, SpectralTracker
from liftsense.ppg.stream import StreamError, StreamingEstimator, estimate_recording

__all__ = [
    "HeartRateEstimate",
    "Recording",
    "RecordingError",
    "SpectralConfig",
    "SpectralTracker",
    "StreamError",
    "StreamingEstimator",
    "denoise",
    "estimate_recording",
    "from_counts",
    "from_signals",
    "load_recording",
    "load_spc2015",
    "spectral_clean",
    "strength_session",
    "to_counts",
]
