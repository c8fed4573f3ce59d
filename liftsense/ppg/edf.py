"""A minimal reader for EDF (European Data Format) files: enough for wrist recordings such as PhysioNet's
"Wrist PPG During Exercise", without a dependency. EDF+ annotations channels are skipped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class EdfError(ValueError):
    """A file that is not a readable EDF; the message names the file and what is wrong."""


@dataclass
class EdfSignal:
    label: str
    unit: str
    fs: float
    values: np.ndarray  # physical units


def _fields(header: bytes, offset: int, width: int, count: int) -> list[str]:
    return [
        header[offset + i * width : offset + (i + 1) * width].decode("ascii", "replace").strip()
        for i in range(count)
    ]


def read_edf(path: str | Path) -> list[EdfSignal]:
    """All signals of an EDF file, scaled to physical units, one `EdfSignal` each (in file order)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        header_bytes, n_records = int(raw[184:192]), int(raw[236:244])
        record_s, n_signals = float(raw[244:252]), int(raw[252:256])
    except (OSError, ValueError) as exc:
        raise EdfError(f"{path}: not a readable EDF file ({exc})") from exc
    if n_signals <= 0 or record_s <= 0 or header_bytes != 256 * (n_signals + 1):
        raise EdfError(f"{path}: inconsistent EDF header ({n_signals} signals, {header_bytes} header bytes)")
    widths = (
        16,
        80,
        8,
        8,
        8,
        8,
        8,
        80,
        8,
        32,
    )  # label, transducer, unit, phys min/max, dig min/max, prefilter, n
    columns, offset = [], 256
    for width in widths:
        columns.append(_fields(raw, offset, width, n_signals))
        offset += width * n_signals
    labels, _, units, pmin, pmax, dmin, dmax, _, per_record, _ = columns
    try:
        per_record_n = np.array([int(n) for n in per_record])
        scale = [tuple(float(v) for v in vals) for vals in zip(pmin, pmax, dmin, dmax, strict=True)]
    except ValueError as exc:
        raise EdfError(f"{path}: unreadable signal header ({exc})") from exc
    record_len = int(per_record_n.sum())
    body = np.frombuffer(raw, dtype="<i2", offset=header_bytes)
    if n_records < 0:  # "-1": still being written; use what is complete
        n_records = len(body) // record_len
    if len(body) < n_records * record_len:
        raise EdfError(f"{path}: truncated: {len(body)} samples for {n_records} records of {record_len}")
    records = body[: n_records * record_len].reshape(n_records, record_len)
    starts = np.concatenate([[0], np.cumsum(per_record_n)])
    signals = []
    for i, label in enumerate(labels):
        if label == "EDF Annotations":
            continue
        p0, p1, d0, d1 = scale[i]
        gain = (p1 - p0) / (d1 - d0) if d1 != d0 else 1.0
        digital = records[:, starts[i] : starts[i + 1]].reshape(-1).astype(np.float64)
        signals.append(EdfSignal(label, units[i], per_record_n[i] / record_s, p0 + (digital - d0) * gain))
    return signals
