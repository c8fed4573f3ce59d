"""Data-validation gate speed: the built-in posture dataset and all 12 SPC recordings, in a fresh process
(Great Expectations' import included, as CI pays it). Goal: under 30 s in total. Also the whole CI gate.

Usage: python benchmarks/bench_validation.py   (writes results/validation.json)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _common import ROOT, table, write

GOAL = """
import sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from data_validation.gate import validate
a = validate("landmarks", "builtin")
b = validate("ppg", "spc2015")
assert a.success and b.success
print(time.perf_counter() - t0, a.seconds, b.seconds)
"""


def fresh(code: str) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return time.perf_counter() - t, out.stdout


def main() -> None:
    goal = [fresh(GOAL.format(root=str(ROOT))) for _ in range(3)]
    ci = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "data_validation", "ci"], cwd=ROOT, capture_output=True, check=True
        )
        ci.append(time.perf_counter() - t)
    inner = [list(map(float, out.split())) for _, out in goal]
    row = {
        "builtin posture + 12 SPC, process wall s (median of 3)": statistics.median(w for w, _ in goal),
        "of which GE suites on posture s": statistics.median(i[1] for i in inner),
        "GE suites on SPC s": statistics.median(i[2] for i in inner),
        "whole CI gate (8 datasets) s": statistics.median(ci),
    }
    print(table([row], list(row)))
    print(f"wrote {write('validation', row)}")


if __name__ == "__main__":
    main()
