"""The Kalman filter's reference output on a recorded signal, as a C header for the firmware's test.

    python firmware/tools/gen_kalman_reference.py firmware/tests/data/kalman_reference.h

The signal: 4 s of the wrist accelerometer of SPC-2015's first training recording while running (samples
5000-5499, in g), from ../shared/data. The header is committed (the firmware's tests need no data);
tests/test_firmware_reference.py checks that it still equals what liftsense.ppg.kalman computes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

START, SAMPLES = 5000, 500


def reference() -> str:
    from liftsense.ppg import load_spc2015
    from liftsense.ppg.kalman import c_reference

    rec = load_spc2015()[0]
    return c_reference(
        rec.acc[:, START : START + SAMPLES], f"{rec.name}, samples {START}-{START + SAMPLES - 1}"
    )


if __name__ == "__main__":
    Path(sys.argv[1]).parent.mkdir(parents=True, exist_ok=True)
    Path(sys.argv[1]).write_text(reference())
