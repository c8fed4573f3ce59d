"""Run every benchmark in turn (tens of minutes; the posture cross-validation dominates)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    for script in (
        "bench_speed.py",
        "bench_train.py",
        "bench_posture.py",
        "bench_form_generalise.py",
        "bench_ppg.py",
        "bench_resthr.py",
        "bench_validation.py",
        "bench_coach.py",
        "bench_live_page.py",
        "bench_sweep_workers.py",
        "bench_ddp.py",
    ):
        print(f"\n##### {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)
