"""Heart rate off SPC-2015: the ppg_extra sets (other devices, rates, activities) next to SPC-2015, per set and
per activity, with the paper's Lasso pipeline and a spectral-peak baseline beside the tracker.

Nothing is fitted per recording. The tracker's settings are fixed (chosen on SPC-2015 and the synthesiser);
each recording counts as its own subject except Jarchi & Casson's, grouped by subject, so the table is already a
leave-one-subject-out score for an unfitted method. Published: BAMI-1/BAMI-2, Chung et al. 2020 (IEEE Access):
their CNN-LSTM 1.46 / 3.33? -- see the README note; quoted as given in RESULTS.md.
Usage: python benchmarks/bench_ppg_extra.py [--quick] [--workers N]   (writes results/ppg_extra.json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
from concurrent.futures import ProcessPoolExecutor

from _common import table, write

METHODS = ("tracker", "lasso (paper)", "spectral peak")


def _load(key: tuple[str, str]):
    from liftsense.datasets import ppg_extra
    from liftsense.datasets.paths import data_dir
    from liftsense.ppg.recording import load_mat

    kind, name = key
    if kind == "SPC-2015":
        rec = load_mat(data_dir() / "spc2015" / "training" / f"{name}.mat")
        rec.meta.update({"set": "SPC-2015", "subject": name, "activity": "run"})
        return rec
    if kind in ("BAMI-1", "BAMI-2"):
        return ppg_extra.load_bami(name)
    if kind == "CardiacRehab":
        return ppg_extra.load_cardiac_rehab(int(name))
    return ppg_extra.load_jarchi_casson(name)


def _score_one(key: tuple[str, str]) -> dict:
    from liftsense.evaluation.heart_rate import score_heart_rate
    from liftsense.ppg.baselines import lasso_peak_estimates, spectral_peak_estimates
    from liftsense.ppg.stream import estimate_recording

    rec = _load(key)
    fns = {
        "tracker": estimate_recording,
        "lasso (paper)": lasso_peak_estimates,
        "spectral peak": spectral_peak_estimates,
    }
    row = {"set": rec.meta["set"], "name": rec.name, "activity": rec.meta["activity"], "fs": rec.fs}
    row["subject"] = rec.meta["subject"]
    row["ppg_channels"] = rec.ppg.shape[0]
    for method in METHODS:
        row[method] = score_heart_rate(fns[method](rec), rec.bpm_truth)
    return row


def keys(quick: bool) -> list[tuple[str, str]]:
    import pandas as pd

    from liftsense.datasets.paths import data_dir
    from liftsense.datasets.ppg_extra import CARDIAC_REHAB_UNIQUE, ppg_extra_dir

    spc = sorted(
        p.stem for p in (data_dir() / "spc2015" / "training").glob("DATA_*.mat") if "BPM" not in p.stem
    )
    manifest = pd.read_csv(ppg_extra_dir() / "manifest.csv")
    bami = [
        ("BAMI-1" if r.startswith("BAMI1_") else "BAMI-2", r) for r in manifest["rec"] if r.startswith("BAMI")
    ]
    jc = [("Jarchi-Casson", r) for r in manifest[manifest["dataset"] == "wrist-ppg-during-exercise"]["rec"]]
    out = (
        [("SPC-2015", s) for s in spc] + bami + [("CardiacRehab", str(s)) for s in CARDIAC_REHAB_UNIQUE] + jc
    )
    return out[::8] if quick else out


def summarise(rows: list[dict], by: str) -> list[dict]:
    from liftsense.evaluation.heart_rate import pool_scores

    out = []
    for group in dict.fromkeys(r[by] for r in rows):
        members = [r for r in rows if r[by] == group]
        line: dict = {by: group, "n": len(members)}
        for method in METHODS:
            pooled = pool_scores([m[method] for m in members])
            short = method.split()[0]
            line[f"{short} AAE"] = pooled["mean_aae_all"]
            if method == "tracker":
                line["tracker AAE rep"] = pooled["mean_aae_reported"]
                line["coverage"] = pooled["coverage"]
                line["conf. wrong"] = pooled["confident_wrong_rate"]
        out.append(line)
    return out


def main() -> None:
    quick = "--quick" in sys.argv
    workers = (
        int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else os.cpu_count() or 1
    )
    with ProcessPoolExecutor(workers) as pool:
        rows = list(pool.map(_score_one, keys(quick)))
    by_set, by_activity = summarise(rows, "set"), summarise(rows, "activity")
    print("per set (AAE = mean over recordings of the mean absolute error, all windows):")
    print(table(by_set, list(by_set[0])))
    print("\nper activity:")
    print(table(by_activity, list(by_activity[0])))
    print(
        f"\nwrote {write('ppg_extra', {'per_set': by_set, 'per_activity': by_activity, 'recordings': rows})}"
    )


if __name__ == "__main__":
    main()
