"""The expectations, table by table. Every check has an id (used by the mutation suite) and its domain rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from liftsense.resthr.sessions import HR_LIMITS, RPE_LIMITS

# thresholds, named so the docs and the code say the same thing
IMAGE_BAND = (-0.5, 1.5)  # BlazePose extrapolates limbs that leave the frame (push-ups reach -0.27)
MAX_LOW_QUALITY_SHARE = 0.5  # per clip: frames with fewer than half the kept landmarks visible ...
MOSTLY_VISIBLE_CLIPS = 0.9  # ... in at least 90% of clips (real push-ups: 7.3% of clips are mostly occluded)
UPRIGHT_SHARE = 0.8  # share of upright-exercise frames with the head above the hips
CORRECT_SHARE = (0.05, 0.95)  # class balance: neither class nearly absent
PPG_FS = (125.0, 0.02)  # expected rate and relative tolerance
MAX_SATURATED_SHARE = 0.05
ACC_MEDIAN_G = (0.3, 3.0)  # a wrist at rest or moving still feels about 1 g of gravity
ACC_MAX_G = 16.0  # MEMS accelerometers' largest range
TRUTH_BPM = (30.0, 230.0)
HR_BPM = HR_LIMITS  # the session schema's own limits: one source of truth
RPE_SCALE = RPE_LIMITS
MAX_SAMPLE_GAP_S = 120.0  # a wrist band that drops out for minutes has lost the session


@dataclass(frozen=True)
class Check:
    id: str
    table: str
    expectation: str  # the gx.expectations class name
    kwargs: dict[str, Any]
    rule: str
    mostly: float | None = None


def _c(id, table, expectation, rule, mostly=None, **kwargs) -> Check:
    return Check(id, table, expectation, kwargs, rule, mostly)


def _in_image(check_id: str, column: str) -> Check:
    """Normalised image coordinates (x_min, y_max, ...) lie within the frame, give or take the tolerance band."""
    return _c(
        check_id,
        "frames",
        "ExpectColumnValuesToBeBetween",
        f"normalised {column[0]} within the image (± tolerance)",
        column=column,
        min_value=IMAGE_BAND[0],
        max_value=IMAGE_BAND[1],
        mostly=0.99,
    )


LANDMARK_CHECKS = (
    _c(
        "frame_columns",
        "frames",
        "ExpectTableColumnsToMatchSet",
        "the extraction table's index columns are present",
        column_set=["sequence_id", "frame_index", "timestamp_s"],
        exact_match=False,
    ),
    _c(
        "frame_index_int",
        "frames",
        "ExpectColumnValuesToBeInTypeList",
        "frame_index is an integer",
        column="frame_index",
        type_list=["int", "int32", "int64", "Int64"],
    ),
    _c(
        "unique_frames",
        "frames",
        "ExpectColumnValuesToBeUnique",
        "one row per (sequence, frame)",
        column="key",
    ),
    _c(
        "frames_increase",
        "frames",
        "ExpectColumnValuesToBeBetween",
        "frame index increases within each sequence",
        column="frame_step",
        min_value=1,
        strict_min=False,
    ),
    _c(
        "timestamps_increase",
        "frames",
        "ExpectColumnValuesToBeBetween",
        "timestamps increase within each sequence",
        column="time_step_s",
        min_value=0,
        strict_min=True,
    ),
    *(
        _in_image(check_id, column)
        for check_id, column in (
            ("x_in_image", "x_min"),
            ("x_max_in_image", "x_max"),
            ("y_in_image", "y_min"),
            ("y_max_in_image", "y_max"),
        )
    ),
    _c(
        "visibility_range",
        "frames",
        "ExpectColumnValuesToBeBetween",
        "visibility is a probability in [0, 1]",
        column="visibility_min",
        min_value=0.0,
        max_value=1.0,
    ),
    _c(
        "visibility_max_range",
        "frames",
        "ExpectColumnValuesToBeBetween",
        "visibility is a probability in [0, 1]",
        column="visibility_max",
        min_value=0.0,
        max_value=1.0,
    ),
    _c(
        "angles_range",
        "frames",
        "ExpectColumnValuesToBeBetween",
        "joint angles are degrees in [0, 180]",
        column="angle_max",
        min_value=0.0,
        max_value=180.0,
    ),
    _c(
        "angles_in_degrees",
        "frames",
        "ExpectColumnMaxToBeBetween",
        "angles are degrees, not radians: some joint opens beyond 90 degrees",
        column="angle_max",
        min_value=90.0,
    ),
    _c(
        "low_quality_share",
        "sequences",
        "ExpectColumnValuesToBeBetween",
        "most frames of a clip show the body",
        column="low_quality_share",
        max_value=MAX_LOW_QUALITY_SHARE,
        mostly=MOSTLY_VISIBLE_CLIPS,
    ),
    _c(
        "head_above_hips",
        "frames",
        "ExpectColumnValuesToBeInSet",
        "standing exercises: head above hips, y pointing down (catches swapped or flipped axes)",
        column="head_above_hips",
        value_set=[1.0],
        mostly=UPRIGHT_SHARE,
    ),
    _c(
        "labels_known",
        "sequences",
        "ExpectColumnValuesToBeInSet",
        "labels are in the known set for the exercise",
        column="label_known",
        value_set=[True],
    ),
    _c(
        "window_length",
        "windows",
        "ExpectColumnValuesToBeInSet",
        "windows have the configured length (15 frames by default)",
        column="window_as_configured",
        value_set=[True],
    ),
    _c(
        "feature_count",
        "windows",
        "ExpectColumnValuesToBeInSet",
        "windows carry the configured features (51 coordinates + 10 angles by default)",
        column="features_as_configured",
        value_set=[True],
    ),
    _c(
        "class_balance",
        "windows",
        "ExpectColumnValuesToBeBetween",
        "both classes present in useful numbers",
        column="correct_share",
        min_value=CORRECT_SHARE[0],
        max_value=CORRECT_SHARE[1],
    ),
    _c(
        "landmarks_present",
        "landmarks",
        "ExpectColumnValuesToBeBetween",
        "every kept landmark is in some frames (one never present, a NaN column, cannot be featurized)",
        column="present_share",
        min_value=0.0,
        strict_min=True,
    ),
    _c(
        "no_leakage",
        "splits",
        "ExpectColumnValuesToBeBetween",
        "no group in more than one split",
        column="splits",
        max_value=1,
    ),
)

PPG_CHECKS = (
    _c(
        "sample_rate",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "declared rate is 125 Hz (±2%)",
        column="fs",
        min_value=PPG_FS[0] * (1 - PPG_FS[1]),
        max_value=PPG_FS[0] * (1 + PPG_FS[1]),
    ),
    _c(
        "sample_rate_from_time",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "the timestamps agree with 125 Hz (±2%)",
        column="fs_from_time",
        min_value=PPG_FS[0] * (1 - PPG_FS[1]),
        max_value=PPG_FS[0] * (1 + PPG_FS[1]),
    ),
    _c(
        "two_ppg_channels",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "one or two PPG channels",
        column="n_ppg",
        min_value=1,
        max_value=2,
    ),
    _c(
        "channel_lengths",
        "recordings",
        "ExpectColumnValuesToBeInSet",
        "PPG and accelerometer have the same number of samples",
        column="channel_lengths_equal",
        value_set=[True],
    ),
    _c(
        "three_acc_axes",
        "recordings",
        "ExpectColumnValuesToBeInSet",
        "three accelerometer axes",
        column="n_acc_axes",
        value_set=[3],
    ),
    _c(
        "finite",
        "recordings",
        "ExpectColumnValuesToBeInSet",
        "no NaN or inf samples",
        column="all_finite",
        value_set=[True],
    ),
    _c(
        "saturation",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "few samples at the ADC rails",
        column="saturated_share",
        max_value=MAX_SATURATED_SHARE,
    ),
    _c(
        "acc_gravity",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "the accelerometer feels about 1 g",
        column="acc_magnitude_median_g",
        min_value=ACC_MEDIAN_G[0],
        max_value=ACC_MEDIAN_G[1],
    ),
    _c(
        "acc_max",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "no acceleration beyond a MEMS range",
        column="acc_magnitude_max_g",
        max_value=ACC_MAX_G,
    ),
    _c(
        "ppg_not_flat",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "the PPG moves (sensor on the skin)",
        column="ppg_std_min",
        min_value=1e-6,
    ),
    _c(
        "truth_aligned",
        "recordings",
        "ExpectColumnValuesToBeInSet",
        "one ground-truth BPM per 8 s window every 2 s",
        column="truth_windows_match",
        value_set=[True],
    ),
    _c(
        "truth_low",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "ground truth within 30-230 BPM",
        column="truth_min_bpm",
        min_value=TRUTH_BPM[0],
        max_value=TRUTH_BPM[1],
    ),
    _c(
        "truth_high",
        "recordings",
        "ExpectColumnValuesToBeBetween",
        "ground truth within 30-230 BPM",
        column="truth_max_bpm",
        min_value=TRUTH_BPM[0],
        max_value=TRUTH_BPM[1],
    ),
)

HR_CHECKS = (
    _c(
        "hr_columns",
        "samples",
        "ExpectTableColumnsToMatchSet",
        "the session schema's required columns",
        column_set=["time", "heart_rate", "state", "id"],
        exact_match=False,
    ),
    _c("missing_columns", "_missing", "ExpectTableRowCountToEqual", "no required column is missing", value=0),
    _c(
        "hr_range",
        "samples",
        "ExpectColumnValuesToBeBetween",
        f"HR within {HR_BPM[0]:g}-{HR_BPM[1]:g} bpm (0 is not a reading)",
        column="heart_rate",
        min_value=HR_BPM[0],
        max_value=HR_BPM[1],
    ),
    _c(
        "hr_present",
        "samples",
        "ExpectColumnValuesToNotBeNull",
        "most samples carry an HR",
        column="heart_rate",
        mostly=0.9,
    ),
    _c(
        "state_values",
        "samples",
        "ExpectColumnValuesToBeInSet",
        "state is 1 (set) or 0 (rest)",
        column="state",
        value_set=[0, 1],
    ),
    _c(
        "time_increases",
        "samples",
        "ExpectColumnValuesToBeBetween",
        "time strictly increases within a session",
        column="time_step_s",
        min_value=0,
        strict_min=True,
    ),
    _c(
        "sampling_gaps",
        "sessions",
        "ExpectColumnValuesToBeBetween",
        "no sampling gap over 120 s in a session",
        column="max_gap_s",
        max_value=MAX_SAMPLE_GAP_S,
    ),
    _c(
        "sets_are_exercise",
        "sessions",
        "ExpectColumnValuesToBeInSet",
        "HR is higher at the end of sets than at the end of rests (state 1 really is exercise); a lagging "
        "wrist sensor (E4: 30 s) blurs this, so it must hold in at least half the sessions",
        column="hr_higher_after_sets",
        value_set=[True],
        mostly=0.5,
    ),
    _c(
        "rpe_scale",
        "samples",
        "ExpectColumnValuesToBeBetween",
        "RPE on its 1-10 scale when present",
        column="RPE",
        min_value=RPE_SCALE[0],
        max_value=RPE_SCALE[1],
    ),
    _c(
        "set_then_rest",
        "sessions",
        "ExpectColumnValuesToBeInSet",
        "each session has a set followed by a rest",
        column="set_then_rest",
        value_set=[True],
    ),
)

CHECKS = {"landmarks": LANDMARK_CHECKS, "ppg": PPG_CHECKS, "hr": HR_CHECKS}


def expectation(check: Check):
    """The GE expectation object for a check (GE imported lazily: 4 s)."""
    import great_expectations as gx

    kwargs = dict(check.kwargs)
    if check.mostly is not None:
        kwargs["mostly"] = check.mostly
    return getattr(gx.expectations, check.expectation)(**kwargs, meta={"check": check.id, "rule": check.rule})


DOC_HEADER = """# Data-validation rules

Each check below is one Great Expectations expectation in `data_validation/suites.py`, with the rule it enforces.
Facts that a built-in expectation cannot state directly ("time increases within a session", "head above hips") are
derived per row in `data_validation/tables.py` with pandas and checked with built-in expectations. This avoids
custom expectation classes, which GE drops without a word when they were not imported. The gate also refuses to
pass when fewer expectations ran than were defined.

Generated by `python -m data_validation.suites > docs/data_validation.md` (a test keeps it in sync).
"""


def markdown() -> str:
    lines = [DOC_HEADER]
    for kind, checks in CHECKS.items():
        lines += [f"## {kind}", "", "| check | table | column | rule |", "|---|---|---|---|"]
        for c in checks:
            share = f" (at least {c.mostly:.0%} of rows)" if c.mostly else ""
            lines.append(f"| `{c.id}` | {c.table} | {c.kwargs.get('column', '')} | {c.rule}{share} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
