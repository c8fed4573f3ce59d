"""The service's typed inputs and outputs: strict pydantic models with limits, so bad input is a 400 naming the
field and the rule, never a 500. Plain lists, not numpy types: the OpenAPI document stays standard."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Annotated

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    create_model,
    model_validator,
)

from liftsense.coach import CoachReport

#: the longest clip `judge` takes: 10 minutes at 30 frames/s
MAX_FRAMES = 18_000
#: the longest heart-rate chunk: 60 s at 125 Hz
MAX_CHUNK_SAMPLES = 7_500
MAX_WINDOWS = 4_096

_strict = ConfigDict(strict=True, extra="forbid")
#: a coordinate; null where BlazePose had nothing (a frame without a person)
Coordinate = Annotated[float | None, Field(allow_inf_nan=False)]
Landmark = Annotated[list[Coordinate], Field(min_length=4, max_length=4, description="x, y, z, visibility")]
WorldLandmark = Annotated[list[Coordinate], Field(min_length=3, max_length=3, description="x, y, z (metres)")]
Frame = Annotated[
    list[Landmark], Field(min_length=33, max_length=33, description="the 33 BlazePose landmarks")
]
WorldFrame = Annotated[list[WorldLandmark], Field(min_length=33, max_length=33)]
Sample = Annotated[float, Field(allow_inf_nan=False)]


def _b64_length(n_floats: int) -> int:
    return 4 * ((4 * n_floats + 2) // 3)


#: a model with packed fields: their base64 is decoded by pydantic-core while it parses the JSON (in Rust, a
#: tenth of the time of Python's base64 module on a 256-window request); padding and the URL-safe alphabet are
#: both accepted
_strict_packed = ConfigDict(strict=True, extra="forbid", val_json_bytes="base64", ser_json_bytes="base64")


def packed_floats(n_floats: int) -> typing.Any:
    """A packed field of at most `n_floats` float32 values: bytes once parsed, base64 text in the JSON schema."""
    return Annotated[
        bytes,
        Field(min_length=4, max_length=4 * n_floats),
        WithJsonSchema(
            {
                "type": "string",
                "format": "base64",
                "minLength": 8,
                "maxLength": _b64_length(n_floats),
                "description": _PACKED,
            }
        ),
    ]


def unpack_float32(raw: bytes, tail: tuple[int, ...], field: str) -> np.ndarray:
    """Little-endian float32 bytes -> (n, *tail) array; NaN marks a missing value, inf is refused."""
    per_row = math.prod(tail)  # not np.prod: a 256-window request calls this 256 times
    if len(raw) % (4 * per_row) or not raw:
        raise ValueError(
            f"{field}: whole rows of {' x '.join(map(str, tail))} float32 values, got {len(raw)} bytes"
        )
    values = np.frombuffer(raw, dtype="<f4")
    if np.isinf(values).any():
        raise ValueError(f"{field}: infinite values (NaN marks a missing landmark; inf is never valid)")
    return values.reshape(-1, *tail)


def _pick(listed: list | None, packed: bytes | None, tail: tuple[int, ...], name: str) -> np.ndarray | None:
    """The array of a field sent either as JSON lists (`name`) or packed (`name_packed`), never both."""
    if listed is not None and packed is not None:
        raise ValueError(f"`{name}` or `{name}_packed`, exactly one of them")
    if packed is not None:
        return unpack_float32(packed, tail, f"{name}_packed")
    if listed is not None:
        return np.array(listed, dtype=np.float32).reshape(-1, *tail)  # null -> NaN: missing
    return None


_PACKED = (
    "the same values as little-endian float32 in base64, NaN where missing: a sixth of the bytes, no parsing"
)


class LandmarkClipIn(BaseModel):
    """One set as BlazePose landmarks (the landmark table's layout): frames x 33 x (x, y, z, visibility), as JSON
    lists or packed; optionally the world landmarks (frames x 33 x (x, y, z) in metres), one per frame."""

    model_config = _strict_packed
    fps: Annotated[float, Field(ge=1.0, le=240.0, description="frames per second")]
    landmarks: Annotated[list[Frame] | None, Field(min_length=1, max_length=MAX_FRAMES)] = None
    landmarks_packed: packed_floats(MAX_FRAMES * 33 * 4) | None = None
    world: Annotated[list[WorldFrame] | None, Field(max_length=MAX_FRAMES)] = None
    world_packed: packed_floats(MAX_FRAMES * 33 * 3) | None = None
    _landmarks: np.ndarray = PrivateAttr()
    _world: np.ndarray | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _arrays(self) -> LandmarkClipIn:
        landmarks = _pick(self.landmarks, self.landmarks_packed, (33, 4), "landmarks")
        if landmarks is None:
            raise ValueError("`landmarks` or `landmarks_packed` is required")
        self._landmarks = landmarks
        self._world = _pick(self.world, self.world_packed, (33, 3), "world")
        return self

    def arrays(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(frames, 33, 4) landmarks and (frames, 33, 3) world landmarks or None, float32 with NaN where missing."""
        return self._landmarks, self._world


class JudgeRequest(BaseModel):
    model_config = _strict
    exercise: Annotated[str, Field(min_length=1, max_length=40, examples=["squat"])]
    clip: LandmarkClipIn
    references: LandmarkClipIn | None = Field(
        default=None, description="the lifter's own good reps, for a calibrated model"
    )
    rotate: Annotated[int, Field(ge=0, le=270, multiple_of=90)] = 0


def _model_of(cls: type, doc: str) -> type[BaseModel]:
    """A pydantic model with a dataclass's fields: an answer BentoML serialises directly (a dataclass answer is
    wrapped in a root model whose JSON schema BentoML rebuilds on every response, a third of `judge`'s time)."""
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: (hints[f.name], Field(default_factory=f.default_factory))
        if f.default_factory is not dataclasses.MISSING
        else (hints[f.name], f.default if f.default is not dataclasses.MISSING else ...)
        for f in dataclasses.fields(cls)
    }
    return create_model(cls.__name__, __doc__=doc, **fields)


#: the answer of `judge`: the coach's own typed report, field for field
JudgeResponse = _model_of(CoachReport, "The coach's report of one set: a row per rep and the set's summary.")


class WindowIn(BaseModel):
    """One 15-frame window of BlazePose landmarks for the paper's CNN/LSTM/RNN: either `landmarks` as JSON (null
    where BlazePose had nothing), or `packed`, the same 15 x 33 x 4 values as little-endian float32 in base64
    (NaN where BlazePose had nothing): a sixth of the bytes and no number parsing, for bulk scoring."""

    model_config = _strict_packed
    landmarks: Annotated[list[Frame] | None, Field(min_length=15, max_length=15)] = None
    packed: packed_floats(15 * 33 * 4) | None = None

    # no private attribute keeps the array: pydantic's set-up of private attributes took a sixth of a 256-window
    # request; the packed bytes are checked here and read again, as a view, by `array`
    @model_validator(mode="after")
    def _one_form(self) -> WindowIn:
        if (self.landmarks is None) == (self.packed is None):
            raise ValueError("a window is either `landmarks` or `packed`, exactly one of them")
        if self.packed is not None and len(unpack_float32(self.packed, (33, 4), "packed")) != 15:
            raise ValueError(
                f"packed: 15 frames of 33 x 4 float32 values, got {len(self.packed) // 528} frames"
            )
        return self

    @property
    def array(self) -> np.ndarray:
        """(15, 33, 4) float32, NaN where missing."""
        if self.packed is None:
            return np.array(self.landmarks, dtype=np.float32)  # the schema fixed its shape
        return np.frombuffer(self.packed, dtype="<f4").reshape(15, 33, 4)


class WindowVerdict(BaseModel):
    verdict: str | None
    probabilities: dict[str, float] | None
    no_reading: str | None = None


class HeartRateChunk(BaseModel):
    """A chunk of one wristband stream: PPG channels and the 3-axis accelerometer, the same samples."""

    model_config = _strict
    stream_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    first_sequence: Annotated[
        int, Field(ge=0, le=2**53, description="the stream's index of the chunk's first sample")
    ]
    fs: Annotated[
        float,
        Field(ge=20.0, le=2000.0, description="sample rate (Hz); a stream keeps the rate it began with"),
    ]
    ppg: Annotated[
        list[Annotated[list[Sample], Field(max_length=MAX_CHUNK_SAMPLES)]], Field(min_length=1, max_length=2)
    ]
    acc: Annotated[
        list[Annotated[list[Sample], Field(max_length=MAX_CHUNK_SAMPLES)]], Field(min_length=3, max_length=3)
    ]
    end_of_stream: bool = False


class Reading(BaseModel):
    window_index: int
    end_sample: int
    bpm: float | None
    sqi: float
    confidence: float
    reason: str


class HeartRateResponse(BaseModel):
    stream_id: str
    readings: list[Reading]
    next_sequence: int
    samples_lost: int
    samples_duplicated: int


class DenoiseRequest(BaseModel):
    model_config = _strict
    fs: Annotated[float, Field(ge=25.0, le=2000.0)]
    ppg: Annotated[list[Sample], Field(min_length=1, max_length=MAX_CHUNK_SAMPLES)]
    acc: Annotated[
        list[Annotated[list[Sample], Field(max_length=MAX_CHUNK_SAMPLES)]], Field(min_length=3, max_length=3)
    ]


class DenoiseResponse(BaseModel):
    bandpassed: list[float]
    motion_removed: list[float]
    motion_artifact: list[float]
    spectral_cleaned: list[float] = Field(description="the spectral tracker's cleaned PPG, at spectral_fs")
    spectral_fs: float


class ServedModel(BaseModel):
    task: str
    name: str | None
    version: str | None
    alias: str | None
    validation_metric: dict[str, float]
    training_commit: str | None
    data_fingerprint: str | None
    serving: str  # what answers: the model, or the baseline and why


class ModelsResponse(BaseModel):
    tracking_uri: str
    models: list[ServedModel]


HeartRate = Annotated[float, Field(ge=25.0, le=250.0, allow_inf_nan=False)]


class SetDoneIn(BaseModel):
    """The set just finished: its HR samples, time in seconds relative to the set's end (<= 0, increasing)."""

    model_config = _strict
    set_time_s: Annotated[
        list[Annotated[float, Field(le=0.0, ge=-3600.0)]], Field(min_length=3, max_length=7200)
    ]
    set_hr: Annotated[list[HeartRate], Field(min_length=3, max_length=7200)]
    set_index: Annotated[int, Field(ge=0, le=100)] = 0
    rpe: Annotated[float | None, Field(ge=0.0, le=10.0)] = None
    resting_hr: HeartRate | None = None
    previous_peak_hr: HeartRate | None = None
    previous_rest_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 0.0
    previous_rest_drop: Annotated[float, Field(ge=-150.0, le=150.0)] = 0.0


class RestUpdateIn(BaseModel):
    model_config = _strict
    done: SetDoneIn
    rest_time_s: Annotated[list[Annotated[float, Field(ge=0.0, le=3600.0)]], Field(max_length=7200)]
    rest_hr: Annotated[list[HeartRate], Field(max_length=7200)]


class RestForecastOut(BaseModel):
    horizons_s: list[float]
    hr: list[float]
    low: list[float]
    high: list[float]
    hr_end: float
    target_hr: float
    rest_s: float
    produced_by: str
    validation_mae_60s: dict[str, float]
