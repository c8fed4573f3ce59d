"""The coach's rep boundaries against human phase labels (exercise_correction: squat up/down, lunge standing/mid/down).

Each scene's rows are joined in recording order into one stream; the frames between key presses were never
saved, so a stream jumps between held positions. For every rep the coach finds: is its far point labelled
"down", are its start and end labelled standing ("up" / "init_standing")? And how many labelled bottoms (runs
of "down") hold a rep's far point? Run by bench_form_generalise.py (section "phases") or alone.
"""

from __future__ import annotations

import numpy as np

STANDING = {"up", "init_standing"}
TOLERANCE = 3  # frames: a far point this close to a "down" run counts (labels lag the movement by a few)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2], strict=True))


def score_stream(labels: np.ndarray, reps) -> dict[str, int]:
    """Counts for one stream: reps, far points in (or within TOLERANCE of) a down run, standing starts and ends,
    down runs, down runs holding a far point."""
    down = labels == "down"
    near_down = np.convolve(down.astype(int), np.ones(2 * TOLERANCE + 1, int), mode="same") > 0
    standing = np.isin(labels, list(STANDING))
    near_standing = np.convolve(standing.astype(int), np.ones(2 * TOLERANCE + 1, int), mode="same") > 0
    runs = _runs(down)
    fars = np.array([r.far for r in reps], dtype=int)
    return {
        "reps": len(reps),
        "far_in_down": int(sum(near_down[r.far] for r in reps)),
        "far_in_mid_only": int(sum(labels[r.far] == "mid" and not near_down[r.far] for r in reps)),
        "start_standing": int(sum(near_standing[r.start] for r in reps)),
        "end_standing": int(sum(near_standing[r.end] for r in reps)),
        "down_runs": len(runs),
        "down_runs_found": int(
            sum(((fars >= a - TOLERANCE) & (fars < b + TOLERANCE)).any() for a, b in runs)
        ),
    }


def phase_section() -> list[dict]:
    from liftsense.coach.coach import LandmarkClip, segment
    from liftsense.datasets.extra_pose import load_exercise_phases

    rows = []
    for task, exercise in (("squat_stage", "squat"), ("lunge_stage", "forward_lunge")):
        seqs = load_exercise_phases(task)
        meta = seqs.meta
        total: dict[str, int] = {}
        streams = 0
        for (source, _), part in meta.groupby(["source", "group"], sort=False):
            if "squat_model/test" in source:  # its second half repeats train.csv: counted once
                continue
            order = part.sort_values("first_row").index.to_numpy()
            frames = np.concatenate([seqs.clip(i) for i in order])
            labels = np.concatenate([[meta.at[i, "label"]] * len(seqs.clip(i)) for i in order])
            _, seg, _ = segment(LandmarkClip(frames, 30.0, f"{task}:{source}"), exercise)
            for key, value in score_stream(labels, seg.reps).items():
                total[key] = total.get(key, 0) + value
            streams += 1
        reps = max(total["reps"], 1)
        rows.append(
            {
                "task": task,
                "streams": streams,
                **total,
                "far_in_down_share": total["far_in_down"] / reps,
                "start_standing_share": total["start_standing"] / reps,
                "end_standing_share": total["end_standing"] / reps,
                "down_run_recall": total["down_runs_found"] / max(total["down_runs"], 1),
            }
        )
    return rows


if __name__ == "__main__":
    import warnings

    from _common import table

    warnings.filterwarnings("ignore")
    result = phase_section()
    print(table(result, list(result[0])))
