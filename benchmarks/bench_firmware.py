"""The band's firmware: instructions per sample on its sampling path, counted on the emulated Cortex-M0, and the
core's flash and RAM.

    python benchmarks/bench_firmware.py

`make -C firmware cycles` runs firmware/bench/cycles.c on QEMU with -icount (instructions counted exactly, after a
calibration loop). QEMU does not model cycles, so the cycles are bounded: the Cortex-M0+ retires most instructions
in one cycle, loads, stores and taken branches in two, and the SAMD21's flash needs one wait state at 48 MHz; two
cycles an instruction is the budget used here, and the share of the 8 ms sample period (384,000 cycles) is given for
one and for two.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import write  # noqa: E402

CLOCK_HZ = 48_000_000
PERIOD_CYCLES = CLOCK_HZ // 125
FRAME_SAMPLES = 25


def main() -> None:
    run = subprocess.run(["make", "-s", "-C", "firmware", "cycles"], cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(run.stdout + run.stderr)
    steps = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+) (\d+)$", run.stdout, re.M)}
    calibration = re.search(r"calibration (\d+) ticks for (\d+) instructions", run.stdout)
    per_sample = steps["sample_paired_filtered_stored"] + steps["frame_encoded"] / FRAME_SAMPLES
    size = subprocess.run(["make", "-s", "-C", "firmware", "size"], cwd=ROOT, capture_output=True, text=True)
    result = {
        "instructions": steps,
        "instructions_per_tick": int(calibration[2]) / int(calibration[1]),
        "instructions_per_sample": per_sample,
        "share_of_period_at_1_cycle": per_sample / PERIOD_CYCLES,
        "share_of_period_at_2_cycles": 2 * per_sample / PERIOD_CYCLES,
        # the worst 8 ms: the costliest single sample and a whole frame built in the same period
        "worst_period_instructions": steps["sample_worst"] + steps["frame_worst"],
        "size": size.stdout.strip().splitlines()[-1],
    }
    print(f"calibration: {result['instructions_per_tick']:.2f} instructions a timer tick (62.5 expected)")
    for name, n in steps.items():
        print(f"{name:<32} {n:>7,} instructions")
    print(
        f"per sample (paired, filtered, stored, and its share of a frame): {per_sample:,.0f} instructions, "
        f"{result['share_of_period_at_1_cycle']:.1%}-{result['share_of_period_at_2_cycles']:.1%} of the 8 ms period "
        f"at 48 MHz (1-2 cycles an instruction)"
    )
    worst = result["worst_period_instructions"]
    print(
        f"worst period (the costliest sample and a whole frame in the same 8 ms): {worst:,} instructions, "
        f"{worst / PERIOD_CYCLES:.1%}-{2 * worst / PERIOD_CYCLES:.1%} of it"
    )
    print(result["size"])
    print(f"wrote {write('firmware', result)}")


if __name__ == "__main__":
    main()
