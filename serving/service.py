"""The LiftSense service: form, heart rate and the models behind them, one BentoML class (`bentoml serve`).

One class on purpose: `bentoml.depends` runs each service in its own process, which cost a third of the throughput
and dropped requests under load here (../shared/STACK_NOTES.md). Every API takes one typed body (`serving.schemas`)
and answers with the library's own results (`liftsense.coach`, `liftsense.ppg`): the service adds transport, limits
and state, not logic. Bad input is a 400 naming the field and the rule, never a 500.

Configuration (environment): `MLFLOW_TRACKING_URI` (default: sqlite ./mlflow.db), `LIFTSENSE_STATE_DIR` (default:
./.liftsense; heart-rate streams live there), `LIFTSENSE_WINDOW_MODEL` (the window network for `classify_windows`;
default: the built-in binary champion), `LIFTSENSE_REST_MODEL` (the rest network offered to `rest_forecast`;
default: models:/rest-hr-rest_builtin@champion), `LIFTSENSE_BATCHING=0` (no adaptive batching),
`LIFTSENSE_BATCH_WINDOWS` (the most windows a batched call takes, default 1,024; a larger request is split),
`LIFTSENSE_IN_FLIGHT` (POSTs read and worked on at once per worker, default 16 shared between the workers; the rest
wait, unread), `LIFTSENSE_MAX_BODY_BYTES`, `LIFTSENSE_WORKERS` (worker processes, default 2, or 1 on a one-core
machine: each loads every model and holds 0.55-0.75 GB of its own; new connections go to the workers in turn, and a
kept-alive one stays with its worker), `LIFTSENSE_COMPUTE_THREADS` (BLAS and torch threads per worker, default 1).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import bentoml
import numpy as np
from bentoml.exceptions import InvalidArgument
from starlette.responses import Response

from serving.limits import MAX_BODY_BYTES, BodySizeLimit, RequestsInFlight
from serving.page import make_app as make_page_app
from serving.schemas import (
    DenoiseRequest,
    DenoiseResponse,
    HeartRateChunk,
    HeartRateResponse,
    JudgeRequest,
    JudgeResponse,
    LandmarkClipIn,
    ModelsResponse,
    Reading,
    RestForecastOut,
    RestUpdateIn,
    ServedModel,
    SetDoneIn,
    WindowIn,
    WindowVerdict,
)
from serving.timeouts import cancel_answered_request_timers
from serving.workers import accept_connections_fairly

log = logging.getLogger("liftsense.serving")
log.setLevel(logging.INFO)  # BentoML leaves the root at WARNING; "models loaded" is worth a line per worker
REPO_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
#: the log line each worker writes once every model is loaded and `models`' answer is read (tests wait for it)
MODELS_LOADED = "models loaded"
#: larger inputs are worked on in a thread, off the event loop: about 20 ms of work
SLOW_FRAMES, SLOW_SAMPLES = 600, 1_000
#: a batch of windows up to this size is classified on the event loop (about 25 ms at 1,024): the thread it went
#: to before cost as much as it spared, at 64 clients 17.6-17.8k windows/s against 17.5-20.2k on the loop
SLOW_WINDOWS = 1_024
#: adaptive batching of classify_windows across concurrent requests (LIFTSENSE_BATCHING=0: off, to measure it)
BATCHING = os.environ.get("LIFTSENSE_BATCHING", "1") != "0"
#: two workers on this 2-core machine: `classify_windows` at 64 clients 17-20k windows/s against 10-14k with one,
#: `judge` at 8 clients p50 22-24 ms against 38-52; the whole service 1.2-1.35 GB (proportional) at its peak
WORKERS = int(os.environ.get("LIFTSENSE_WORKERS") or min(2, os.cpu_count() or 1))
# each worker imports this module before it listens (the arbiter, with no worker index, patches nothing)
accept_connections_fairly(WORKERS, bentoml.server_context.worker_index)
cancel_answered_request_timers()
#: the most windows one batched call featurises: 64 clients' 256-window requests merged 4,096 at a time took the
#: service to 1.5 GB at its peak, 1,024 at a time to 1.3 GB, for the same windows per second
BATCH_WINDOWS = int(os.environ.get("LIFTSENSE_BATCH_WINDOWS", "1024"))
#: POSTs read and worked on at once per worker; the rest wait unread. At 64 clients of `classify_windows`, 8 or
#: 16 at a time held the worker at 0.95-1.0 GB against 1.2 GB when all were read at once, and answered 12-20% more
#: windows per second (the worker spent less time on bodies it could not yet work on). 0: no limit. The default is
#: shared between the workers: two with 8 each peaked at 1.42-1.43 GB resident, with 16 each at 1.50 GB, for the same
#: windows per second
IN_FLIGHT = int(os.environ.get("LIFTSENSE_IN_FLIGHT") or max(4, 16 // WORKERS))
#: BLAS and torch threads per worker. One: a worker's Python holds the GIL for most of a request, so extra threads
#: mostly spin-wait; with two, `heart_rate` took 1.8 cores for 200 requests/s, with one 0.8 cores for 260
COMPUTE_THREADS = int(os.environ.get("LIFTSENSE_COMPUTE_THREADS", "1"))


def _heap_trimmer(
    every_s: float, trim: Callable[[], object] | None = None, clock: Callable[[], float] | None = None
) -> Callable[[], None]:
    """A call that hands the heap's free pages back to the system (`trim`, by default glibc's malloc_trim) at most
    every `every_s` seconds; a no-op where the C library is not glibc."""
    import ctypes
    import time

    if trim is None:
        try:
            malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            return lambda: None
        trim = lambda: malloc_trim(0)  # noqa: E731
    now = clock or time.monotonic
    last = [-float("inf")]

    def maybe_trim() -> None:
        t = now()
        if t - last[0] >= every_s:
            last[0] = t
            trim()

    return maybe_trim


#: 2.7 MB request bodies, parsed, leave the heap fragmented: a worker grew to 1.2-1.3 GB under load. Trimming after
#: every request kept it near 0.9 GB but cost 10-30% of the throughput; once a second costs nothing measurable
_trim_heap = _heap_trimmer(every_s=1.0)


def _freeze_what_is_loaded() -> None:
    """Moves every object alive now (the imported libraries and the models: millions of them) out of the
    garbage collector's sight. A request parsed from JSON lists allocates thousands of objects, which sets off
    the collector; a full collection walked all of those objects and held the GIL for hundreds of ms (judge's
    p99 at 8 clients was 0.5 s against a p50 of 70 ms)."""
    import gc

    gc.collect()
    gc.freeze()


def _limit_compute_threads(threads: int) -> None:
    """BLAS (numpy, scipy, scikit-learn) and torch's intra-op pool, for this whole process."""
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    torch.set_num_threads(threads)


def _clip(clip: LandmarkClipIn, source: str):
    """The library's clip; its own checks (one world frame per frame) become a 400 naming the field."""
    from liftsense.coach import LandmarkClip

    landmarks, world = clip.arrays()
    try:
        return LandmarkClip(landmarks, float(clip.fps), source, world)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def _window_batch(windows: list[WindowIn]) -> np.ndarray:
    """(n, 15, 33, 4) float32 of a batch of windows: packed ones joined as bytes and read once (a fifth of the time
    of stacking 256 small arrays), the rest stacked."""
    if all(w.packed is not None for w in windows):
        return np.frombuffer(b"".join(w.packed for w in windows), dtype="<f4").reshape(
            len(windows), 15, 33, 4
        )
    return np.stack([w.array for w in windows])


def _served_form_model(exercise: str) -> tuple[Any, str | None]:
    """The live page's form models: the running service's own (loaded once, from the registry)."""
    return bentoml.get_current_service()._form_model(exercise)


@bentoml.service(name="liftsense", traffic={"timeout": 60}, workers=WORKERS)
@bentoml.asgi_app(make_page_app(_served_form_model), path="/live")
class LiftSense:
    """Per-rep form feedback, wrist heart rate and the registry models behind them."""

    def __init__(self) -> None:
        from liftsense.coach import default_tracking_uri

        self.tracking_uri = default_tracking_uri()
        state_dir = Path(os.environ.get("LIFTSENSE_STATE_DIR") or REPO_ROOT / ".liftsense")
        from serving.streams import StreamStore

        self.streams = StreamStore(state_dir / "streams.sqlite")
        self._form_models: dict[str, tuple[Any, str | None]] = {}
        self._window_model: tuple[Any, str] | None = None
        self._rest: Any = None
        self._rest_offered: tuple[str, str | None] = (
            "",
            None,
        )  # the rest network's URI, and why it is not served
        # one lock per kind of model: a judge must not wait behind the window network loading (9 s)
        self._form_lock, self._window_lock, self._rest_lock = (
            threading.Lock(),
            threading.Lock(),
            threading.Lock(),
        )
        # the models load behind /readyz, not before it: loading them imports MLflow, torch and scikit-learn (4-5 s
        # a worker), and an API that needs a model still loading waits for it rather than answering without it
        self._loaded = threading.Event()
        self._served: ModelsResponse | None = None  # `models`' answer, built once the models are loaded
        threading.Thread(target=self._load_models, name="load-models", daemon=True).start()

    def _load_models(self) -> None:
        """Every model the APIs use, loaded once, in the order a lifter needs them."""
        from liftsense.coach import EXERCISE_REPS

        started = time.perf_counter()
        try:
            _limit_compute_threads(COMPUTE_THREADS)
            self._rest_forecaster()
            for exercise in EXERCISE_REPS:
                self._form_model(exercise)
            # `models`' answer is read from the registry now, right after the models it names, not at the first
            # call: a worker first asked minutes later, after a promotion, must still name what it loaded
            self._served = self._what_is_served()
            self._windows_model()
        except Exception:  # each API reports its own failure to load when it is called
            log.exception("loading the served models failed")
        finally:
            _freeze_what_is_loaded()
            self._loaded.set()
            log.info(
                "%s in %.1f s (worker pid %d)", MODELS_LOADED, time.perf_counter() - started, os.getpid()
            )

    async def _off_the_loop_if(self, slow: bool, work: Callable[[], T]) -> T:
        """Quick work runs on the event loop: handing it to a thread cost 3.5 ms a request, more than a heart-rate
        chunk's own work. Slow work (a long clip) and anything that must wait for the models still loading go to
        a thread, so that /livez, /readyz and other requests are never held up behind them."""
        if slow or not self._loaded.is_set():
            return await anyio.to_thread.run_sync(work)
        return work()

    # -- form ------------------------------------------------------------------------------------------------
    def _form_model(self, exercise: str) -> tuple[Any, str | None]:
        """(model, its URI) for an exercise, or (None, None) without a champion: loaded once from the registry."""
        from liftsense.coach import NoFormModel, load_form_model

        with self._form_lock:
            if exercise not in self._form_models:
                try:
                    self._form_models[exercise] = load_form_model(None, exercise, self.tracking_uri)
                except NoFormModel:
                    self._form_models[exercise] = (None, None)
            return self._form_models[exercise]

    @bentoml.api
    async def judge(self, request: JudgeRequest, /) -> JudgeResponse:
        """Count, measure and judge every rep of one set (`liftsense.coach.coach_clip`)."""
        from liftsense.coach import coach_clip, rep_signal_of

        try:
            exercise = rep_signal_of(request.exercise).exercise
        except ValueError as exc:
            raise InvalidArgument(f"exercise: {exc}") from None
        clip = _clip(request.clip, "clip")
        references = _clip(request.references, "references") if request.references else None

        def judged() -> JudgeResponse:
            model, uri = self._form_model(exercise)
            report = coach_clip(clip, exercise, model, references, uri, rotate=request.rotate)
            return JudgeResponse(**report.__dict__)

        frames = len(clip.landmarks) + (len(references.landmarks) if references else 0)
        return await self._off_the_loop_if(frames > SLOW_FRAMES, judged)

    def _windows_model(self) -> tuple[Any, str]:
        """(network, uri), or (None, why there is none): loaded once."""
        from liftsense.coach import load_window_model

        with self._window_lock:
            if self._window_model is None:
                try:
                    self._window_model = load_window_model(
                        os.environ.get("LIFTSENSE_WINDOW_MODEL"), self.tracking_uri
                    )
                except Exception as exc:
                    self._window_model = (None, f"no window network to serve: {exc}")
            return self._window_model

    # max_latency_ms is the time a request may wait in the queue before it is refused with a 503: generous, so
    # load slows answers down rather than failing them
    @bentoml.api(batchable=BATCHING, max_batch_size=BATCH_WINDOWS, max_latency_ms=30_000)
    async def classify_windows(self, windows: list[WindowIn]) -> list[WindowVerdict]:
        """The paper's CNN/LSTM/RNN on 15-frame windows; concurrent requests are batched together."""
        return await self._off_the_loop_if(
            len(windows) > SLOW_WINDOWS, lambda: self._classify_windows(windows)
        )

    def _classify_windows(self, windows: list[WindowIn]) -> list[dict]:
        """The verdicts as plain dicts in `WindowVerdict`'s shape, written to JSON as they are (`_verdicts_answer`)."""
        from liftsense.coach import classify_windows

        module, uri_or_reason = self._windows_model()
        if module is None:
            return [{"verdict": None, "probabilities": None, "no_reading": uri_or_reason} for _ in windows]
        _trim_heap()
        proba, classes = classify_windows(module, _window_batch(windows))
        # rounded and listed in one numpy call each, not per value: 256 windows a request add up
        verdicts = np.asarray(classes)[np.argmax(np.nan_to_num(proba, nan=-1.0), axis=1)].tolist()
        no_reading = {"verdict": None, "probabilities": None, "no_reading": "too many missing frames"}
        return [
            {"verdict": v, "probabilities": dict(zip(classes, p, strict=True)), "no_reading": None}
            if ok
            else no_reading
            for v, p, ok in zip(
                verdicts, np.round(proba, 4).tolist(), np.isfinite(proba).all(axis=1).tolist(), strict=True
            )
        ]

    # -- heart rate ------------------------------------------------------------------------------------------------
    @bentoml.api
    async def heart_rate(self, chunk: HeartRateChunk, /) -> HeartRateResponse:
        """The readings a chunk completes on its stream; the stream's state survives restarts and replicas."""
        from liftsense.ppg import StreamingEstimator

        if len({len(channel) for channel in [*chunk.ppg, *chunk.acc]}) != 1:
            raise InvalidArgument(
                "ppg and acc: every channel must hold the same number of samples "
                f"(ppg {[len(c) for c in chunk.ppg]}, acc {[len(c) for c in chunk.acc]})"
            )
        ppg, acc = np.asarray(chunk.ppg, dtype=np.float64), np.asarray(chunk.acc, dtype=np.float64)

        def step(stream: StreamingEstimator):
            estimates = stream.push(ppg, acc, seq=chunk.first_sequence, fs=chunk.fs)
            if chunk.end_of_stream:
                estimates += stream.flush()
            return estimates, stream.next_sequence, stream.stats.samples_lost, stream.stats.samples_duplicated

        def update():
            return self.streams.update(
                chunk.stream_id, lambda: StreamingEstimator(fs=chunk.fs, n_ppg=ppg.shape[0]), step
            )

        try:
            estimates, nxt, lost, dup = await self._off_the_loop_if(ppg.shape[1] > SLOW_SAMPLES, update)
        except (
            ValueError
        ) as exc:  # StreamError, or a stream that cannot begin (a rate too low for heart rate)
            raise InvalidArgument(f"stream {chunk.stream_id}: {exc}") from None
        if chunk.end_of_stream:
            self.streams.drop(chunk.stream_id)
        return HeartRateResponse(
            stream_id=chunk.stream_id,
            readings=[Reading.model_validate(e.to_dict()) for e in estimates],  # candidate_bpm stays inside
            next_sequence=nxt,
            samples_lost=lost,
            samples_duplicated=dup,
        )

    @bentoml.api
    def denoise(self, request: DenoiseRequest, /) -> DenoiseResponse:
        """The paper's cleaning of one PPG chunk (0.5-4 Hz band-pass, then the accelerometer's Lasso fit removed) and
        the spectral tracker's (band-pass, decimation, the accelerometer's strongest lines projected out)."""
        from liftsense.ppg import denoise, spectral_clean

        if any(len(axis) != len(request.ppg) for axis in request.acc):
            raise InvalidArgument(
                f"acc: 3 axes of {len(request.ppg)} samples each (as many as ppg), got {[len(a) for a in request.acc]}"
            )
        ppg, acc = np.asarray(request.ppg, dtype=np.float64), np.asarray(request.acc, dtype=np.float64)
        if len(ppg) < 2 * request.fs:
            raise InvalidArgument(
                f"ppg: at least 2 s of samples ({int(2 * request.fs)} at {request.fs:g} Hz), got {len(ppg)}"
            )
        try:
            clean, removed, artifact = denoise(ppg, acc, request.fs)
            tracker_clean, tracker_fs = spectral_clean(ppg, acc, request.fs)
        except ValueError as exc:
            raise InvalidArgument(f"fs: {exc}") from None
        return DenoiseResponse(
            bandpassed=clean.tolist(),
            motion_removed=removed.tolist(),
            motion_artifact=artifact.tolist(),
            spectral_cleaned=tracker_clean.tolist(),
            spectral_fs=tracker_fs,
        )

    # -- rest ----------------------------------------------------------------------------------------------------
    def _rest_forecaster(self):
        """The rest forecaster, fitted once on the built-in sessions (split by person, as `train.py` splits them):
        the registry's rest network when it beats the simple forecasters on the same validation rests, else the
        simple one that validated best. Every forecast names what produced it."""
        from liftsense.registry import registered_name
        from liftsense.resthr import TrainedNetwork, fitted_rest_forecaster, servable_rest_network

        with self._rest_lock:
            if self._rest is None:
                uri = os.environ.get("LIFTSENSE_REST_MODEL") or (
                    f"models:/{registered_name('rest_hr', 'rest_builtin')}@champion"
                )
                try:
                    network, why_not = servable_rest_network(uri, self.tracking_uri)
                except Exception as exc:  # a broken artifact: the simple forecasters still answer
                    network, why_not = None, f"{uri} could not be loaded ({type(exc).__name__}: {exc})"
                networks = (TrainedNetwork(network, uri),) if network is not None else ()
                self._rest = fitted_rest_forecaster(networks=networks)
                self._rest_offered = (uri, why_not)
            return self._rest

    @staticmethod
    def _set_done(done: SetDoneIn):
        from liftsense.resthr import SetDone

        t, hr = np.asarray(done.set_time_s), np.asarray(done.set_hr)
        if len(t) != len(hr):
            raise InvalidArgument(f"set_time_s and set_hr: {len(t)} times but {len(hr)} heart rates")
        if np.any(np.diff(t) <= 0):
            raise InvalidArgument("set_time_s: times must increase")
        return SetDone(
            t, hr, done.set_index, float("nan") if done.rpe is None else done.rpe, done.resting_hr,
            done.previous_peak_hr, done.previous_rest_s, done.previous_rest_drop,
        )  # fmt: skip

    @bentoml.api
    async def rest_forecast(self, done: SetDoneIn, /) -> RestForecastOut:
        """The recovery forecast every 5 s with its 10-90% band, the target HR and the predicted rest."""
        set_done = self._set_done(done)
        forecast = await self._off_the_loop_if(False, lambda: self._rest_forecaster().forecast(set_done))
        return RestForecastOut.model_validate(forecast.__dict__)

    @bentoml.api
    async def rest_update(self, update: RestUpdateIn, /) -> RestForecastOut:
        """The forecast refined by the rest's heart-rate samples so far (seconds since the set's end)."""
        if len(update.rest_time_s) != len(update.rest_hr):
            raise InvalidArgument(
                f"rest_time_s and rest_hr: {len(update.rest_time_s)} times but {len(update.rest_hr)} heart rates"
            )
        set_done, rest_t, rest_hr = (
            self._set_done(update.done),
            np.asarray(update.rest_time_s),
            np.asarray(update.rest_hr),
        )
        forecast = await self._off_the_loop_if(
            False, lambda: self._rest_forecaster().update(set_done, rest_t, rest_hr)
        )
        return RestForecastOut.model_validate(forecast.__dict__)

    # -- what is served ---------------------------------------------------------------------------------------
    @bentoml.api
    def models(self) -> ModelsResponse:
        """The registry versions behind each task, or what answers instead and why: read from the registry once,
        as the models load, so it names what this process serves even after a later promotion (and answers in
        microseconds, not the 15 ms of a registry round trip)."""
        self._loaded.wait()
        if self._served is None:  # loading failed part-way: read now, and say what each task lacks
            self._served = self._what_is_served()
        return self._served

    def _what_is_served(self) -> ModelsResponse:
        from liftsense.registry import VALIDATION_METRIC, registered_name

        served = []
        for data in ("builtin", "pushup", "squat_3d"):
            for task in ("fault", "binary"):
                served.append(
                    self._registry_entry(task, registered_name(task, data), VALIDATION_METRIC[task][0])
                )
        served.append(self._rest_entry())
        return ModelsResponse(tracking_uri=self.tracking_uri, models=served)

    def _rest_entry(self) -> ServedModel:
        """What forecasts rests: the registry network, or the best simple forecaster and why no network."""
        from liftsense.registry import registered_name

        rest = self._rest_forecaster()
        uri, why_not = self._rest_offered
        scores = {f"val_mae_60s {k}": v for k, v in rest.scores_.items()}
        if rest.network_answers:
            entry = self._registry_entry("rest_hr", uri.removeprefix("models:/").split("@")[0], "mae_60s")
            if uri.startswith("models:/") and uri.endswith("@champion"):
                return entry.model_copy(
                    update={
                        "validation_metric": {**entry.validation_metric, **scores},
                        "serving": f"model {uri}",
                    }
                )
            return ServedModel(
                task="rest_hr", name=None, version=None, alias=None, validation_metric=scores,
                training_commit=None, data_fingerprint=None, serving=f"model {uri}",
            )  # fmt: skip
        if why_not is None:
            why_not = f"{uri} did not beat the simple forecasters on the service's validation rests"
        return ServedModel(
            task="rest_hr", name=registered_name("rest_hr", "rest_builtin"), version=None, alias=None,
            validation_metric=scores, training_commit=None, data_fingerprint=None,
            serving=f"baseline: {rest.best_}, the best simple forecaster on validation rests (no rest network "
            f"served: {why_not})",
        )  # fmt: skip

    def _registry_entry(self, task: str, name: str, metric: str) -> ServedModel:
        from mlflow import MlflowClient

        try:
            client = MlflowClient(tracking_uri=self.tracking_uri)
            version = client.get_model_version_by_alias(name, "champion")
            run = client.get_run(version.run_id)
        except Exception:
            return ServedModel(
                task=task, name=name, version=None, alias=None, validation_metric={}, training_commit=None,
                data_fingerprint=None, serving="nothing registered: counts, range and tempo without verdicts",
            )  # fmt: skip
        from liftsense.registry import serving_refusal

        refusal = serving_refusal(f"models:/{name}@champion")
        metrics = {
            k: float(v) for k, v in run.data.metrics.items() if k.startswith("val_") or k == f"test_{metric}"
        }
        return ServedModel(
            task=task,
            name=name,
            version=str(version.version),
            alias="champion",
            validation_metric=metrics,
            training_commit=run.data.tags.get("mlflow.source.git.commit") or run.data.tags.get("git_commit"),
            data_fingerprint=run.data.tags.get("data_fingerprint"),
            serving=refusal or f"model models:/{name}@champion",
        )


async def _verdicts_answer(cls, verdicts: list[dict], serde: object) -> Response:
    """classify_windows' answer, its verdicts written to JSON as they are. BentoML validated the list into a root
    model, dumped it to Python twice and encoded that: 1.1 ms for 256 verdicts against 0.34 ms, a twentieth of a
    request's work. The verdicts are built in `_classify_windows` only, in `WindowVerdict`'s shape (tested)."""
    return Response(json.dumps(verdicts, allow_nan=False).encode(), media_type="application/json")


LiftSense.apis["classify_windows"].output_spec.to_http_response = classmethod(_verdicts_answer)
LiftSense.add_asgi_middleware(
    BodySizeLimit, max_bytes=int(os.environ.get("LIFTSENSE_MAX_BODY_BYTES", MAX_BODY_BYTES))
)
LiftSense.add_asgi_middleware(RequestsInFlight, limit=IN_FLIGHT)
