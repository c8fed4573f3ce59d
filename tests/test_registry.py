"""Registry and promotion: the rule, and end to end (register, promote, load the champion in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from liftsense.registry import TAG_LIMIT, decide, registered_name, spec_tag
from tests.conftest import ROOT, SMALL_POSTURE, run_entry_point

SMALL = [*SMALL_POSTURE, "validation.enabled=false"]


def test_promotion_rule():
    assert decide(0.6, None, True).alias == "champion"
    assert decide(0.7, 0.6, True).alias == "champion"
    worse = decide(0.5, 0.6, True)
    assert worse.alias == "challenger" and "does not beat" in worse.reason
    assert decide(5.0, 6.0, False).alias == "champion" and decide(6.0, 6.0, False).alias == "challenger"
    # never worse than a baseline: not even the first candidate becomes champion below it
    below = decide(0.45, None, True, ("always_correct_clip_f1", 0.5))
    assert below.alias == "challenger" and "does not beat the baseline" in below.reason
    assert below.beats_baseline is False and decide(0.6, None, True).beats_baseline is None
    assert decide(0.55, 0.9, True, ("always_correct_clip_f1", 0.5)).beats_baseline is True
    assert decide(0.55, None, True, ("always_correct_clip_f1", 0.5)).alias == "champion"
    assert decide(0.9, 0.6, True, ("always_correct_clip_f1", 0.95)).alias == "challenger"
    assert decide(14.0, None, False, ("persistence", 13.5)).alias == "challenger"  # MAE: lower is better
    assert decide(12.0, 13.0, False, ("persistence", 13.5)).alias == "champion"
    assert registered_name("binary", "squat_3d") == "posture-squat_3d-binary"
    assert registered_name("binary", "squat_3d", calibrated=True) == "posture-squat_3d-binary-calibrated"


def test_validation_clips_of_one_class_cannot_promote_anything():
    """Squat validation dates with no correct clip score every model and "always correct" at F1 0: refused, named."""
    import types

    import pandas as pd

    from liftsense.evaluation.metrics import one_class_reason
    from liftsense.models.clip_model import ClipFormModel
    from training.promote import _cannot_judge

    faulty = pd.DataFrame(
        {"label": ["no depth", "knees caving", "no depth"], "correct": [0, 0, 0], "group": ["d2", "d1", "d2"]}
    )
    mixed = pd.concat([faulty, pd.DataFrame({"label": ["olympic squat"], "correct": [1], "group": ["d3"]})])
    binary = ["incorrect", "correct"]
    reason = one_class_reason("binary", faulty, binary)
    assert reason is not None and "only 'incorrect' clips" in reason and "d1, d2" in reason
    assert one_class_reason("binary", mixed, binary) is None
    # faults: two named faults are two classes, and a clip marked correct counts as "correct" whatever its label
    faults = ["correct", "knees caving", "no depth"]
    assert one_class_reason("fault", faulty, faults) is None
    one_fault = faulty[faulty["label"] == "no depth"]
    assert "only 'no depth' clips" in one_class_reason("fault", one_fault, faults)
    unknown = one_class_reason("fault", faulty.assign(label="toes lifting"), faults)
    assert "no clip of a class the model knows" in unknown

    # the rule: refused even with no champion and a score above the baseline, and never tagged as beating it
    refused = decide(0.9, None, True, ("always_correct_clip_f1", 0.0), cannot_judge=reason)
    assert refused.alias == "challenger" and refused.beats_baseline is None
    assert refused.reason.startswith("cannot be judged: the 3 clips of group(s) d1, d2 hold only 'incorrect'")
    assert decide(0.9, None, True, ("always_correct_clip_f1", 0.0), cannot_judge=None).alias == "champion"
    # promote.py's check names the fix; a rest-HR model is not judged by clip classes
    model = ClipFormModel(binary)
    hint = _cannot_judge("binary", model, types.SimpleNamespace(meta=faulty))
    assert hint is not None and hint.startswith(reason) and "split.fold" in hint and "--gate groups" in hint
    grouped = _cannot_judge("binary", model, types.SimpleNamespace(meta=faulty), gate="groups")
    assert (
        grouped.startswith(reason)
        and "training and validation groups" in grouped
        and "split.fold" not in grouped
    )
    assert _cannot_judge("binary", model, types.SimpleNamespace(meta=mixed)) is None
    assert _cannot_judge("rest_hr", None, None) is None


def test_training_warns_when_its_validation_groups_hold_one_class(caplog):
    """The split is the same for every model: say at training time that promotion will not be able to judge it."""
    import logging

    import numpy as np

    from liftsense.pipelines.posture import split_clips
    from liftsense.pose.sequences import PoseSequences
    from tests.conftest import labelled_meta

    labels = [0] * 24 + [1, 0] * 4  # groups g0-g5 only faulty clips (4 each), g6 and g7 both
    meta = labelled_meta(labels, "squat", "no depth", n_groups=8)
    meta["group"] = [f"g{i // 4}" for i in range(len(labels))]
    clips = [np.ones((6, 33, 4), np.float32) for _ in labels]
    seqs = PoseSequences.from_clips(clips, meta, fps=30.0, source="test")
    warned = []
    for fold in range(3):
        cfg = {
            "split": {"n_splits": 3, "fold": fold, "val_fraction": 0.25},
            "seed": 0,
            "task": {"name": "binary"},
        }
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="liftsense.pipelines.posture"):
            _, va, _ = split_clips(cfg, seqs)
        one_class = meta["correct"].iloc[va].nunique() == 1
        said = [r.getMessage() for r in caplog.records if "validation gate" in r.getMessage()]
        assert bool(said) is one_class
        if said:
            assert "hold only 'incorrect' clips" in said[0] and "split.fold" in said[0]
            assert "cannot judge" in said[0] and "grouped gate" in said[0]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="liftsense.pipelines.posture"):
            split_clips(cfg, seqs, warn_one_class=False)  # promotion, which says it in its decision instead
        assert not caplog.records
        warned.append(one_class)
    assert any(warned) and not all(warned)  # both cases happen on these folds


def test_a_long_feature_spec_stays_valid_json_in_its_tag():
    short = {"kind": "posture", "classes": ["a", "b"]}
    assert json.loads(spec_tag(short, "r1")) == short
    long = {**short, "feature_columns": [f"feature_{i}" for i in range(600)]}
    tag = spec_tag(long, "r1")
    assert len(tag) <= TAG_LIMIT
    pointer = "see runs:/r1/feature_spec.json"
    assert json.loads(tag) == {**short, "feature_columns": pointer, "full_spec": "runs:/r1/feature_spec.json"}


@pytest.mark.slow
def test_register_promote_and_load_the_champion_in_a_fresh_process(tmp_path):
    import mlflow

    for seed in (0, 1):
        proc = run_entry_point("train.py", tmp_path, *SMALL, f"seed={seed}")
        assert proc.returncode == 0, proc.stderr[-2000:]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(
        experiment_names=["posture-binary"], output_format="list", order_by=["start_time ASC"]
    )
    outputs = []
    for run in runs:
        proc = run_entry_point("promote.py", tmp_path, "--run-id", run.info.run_id, *SMALL)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs.append(proc.stdout)
    # a one-epoch network may lose to the "always correct" baseline: then it is registered but never champion
    assert "-> champion (no champion yet)" in outputs[0] or "does not beat the baseline" in outputs[0]
    assert "-> champion" in outputs[1] or "-> challenger" in outputs[1]
    again = run_entry_point("promote.py", tmp_path, "--run-id", runs[0].info.run_id, *SMALL)
    assert again.returncode == 0 and "v1 is already run" in again.stdout, again.stdout + again.stderr[-2000:]

    client = mlflow.MlflowClient()
    name = "posture-builtin-binary"
    assert (
        len(client.search_model_versions(f"name = '{name}'")) == 2
    )  # promoting a run again registers nothing
    aliases = client.get_registered_model(name).aliases
    decisions = {v: client.get_model_version(name, v).tags for v in ("1", "2")}
    assert all(
        t["promotion_decision"] in {"champion", "challenger"} and t["promotion_reason"]
        for t in decisions.values()
    )
    promoted = [v for v, t in decisions.items() if t["promotion_decision"] == "champion"]
    assert str(aliases.get("champion")) == (promoted[-1] if promoted else "None")
    version = promoted[-1] if promoted else "1"  # a registered version loads either way
    spec = json.loads(client.get_model_version(name, version).tags["feature_spec"])
    info = mlflow.models.get_model_info(f"models:/{name}/{version}")
    # one window per clip, resampled to 60 frames (conf/data/builtin.yaml), of 51 coordinates and 10 angles
    assert info.signature is not None and info.signature.inputs.to_dict()[0]["tensor-spec"]["shape"][1:] == (
        60,
        61,
    )
    assert spec["landmark_indices"][0] == 0 and len(spec["angles"]) == 10 and spec["classes"]

    script = f"""
import mlflow, mlflow.pytorch, numpy as np
mlflow.set_tracking_uri("sqlite:///{tmp_path / "mlflow.db"}")
model = mlflow.pytorch.load_model("models:/{name}/{version}", map_location="cpu")
pre = model.hparams.preprocessing
window = pre["features"]["window"]
x = np.random.default_rng(0).normal(size=(4, window, len(pre["scaler"]["mean"]))).astype("float32")
p = model.predict_proba(x)
assert p.shape == (4, len(pre["classes"])) and np.allclose(p.sum(1), 1, atol=1e-5)
print("ok", p.shape)
"""
    fresh = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert fresh.returncode == 0 and "ok" in fresh.stdout, fresh.stderr[-2000:]


@pytest.mark.slow
def test_a_clip_model_competes_with_a_network_for_champion(tmp_path):
    """Both are scored on the same validation groups, which neither was fitted on."""
    import mlflow

    for model in ("cnn", "clip_forest"):
        proc = run_entry_point("train.py", tmp_path, *SMALL, f"model={model}")
        assert proc.returncode == 0, proc.stderr[-2000:]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(
        experiment_names=["posture-binary"], output_format="list", order_by=["start_time ASC"]
    )
    assert [r.data.params["model.name"] for r in runs] == ["cnn", "clip_forest"]
    for run in runs:
        proc = run_entry_point("promote.py", tmp_path, "--run-id", run.info.run_id, *SMALL)
        assert proc.returncode == 0, proc.stderr[-2000:]
    client = mlflow.MlflowClient()
    v2 = client.get_model_version("posture-builtin-binary", "2")
    assert v2.tags["promotion_decision"] in {"champion", "challenger"}
    # a network took part (as champion, or as the version a clip model was compared with): the validation gate
    assert client.get_model_version("posture-builtin-binary", "1").tags["promotion_gate"] == "validation"
    champion_before = client.get_model_version("posture-builtin-binary", "1").tags["promotion_decision"]
    assert v2.tags["promotion_gate"] == ("validation" if champion_before == "champion" else "groups")
    spec = json.loads(v2.tags["feature_spec"])  # too long for a tag: the long lists point to the full spec
    assert spec["kind"] == "posture-clip" and spec["classes"] == ["incorrect", "correct"]
    assert spec["feature_columns"].startswith("see runs:/") and spec["full_spec"].endswith(
        "feature_spec.json"
    )
    full = mlflow.artifacts.load_dict(f"runs:/{runs[1].info.run_id}/feature_spec.json")
    assert len(full["feature_columns"]) > 100
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pipelines.posture import load_classifier

    assert isinstance(load_classifier(model_uri="models:/posture-builtin-binary/2"), ClipFormModel)
