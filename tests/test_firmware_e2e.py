"""The band's C firmware loop (POSIX build: a replayed recording as the sensors, TCP as the WiFi) against the real
gateway and the real service: the connection is killed mid-set, the band resends, the journal holds every sample
once, the rest forecasts come from the service, and the gateway's rest-over COMMANDs reach the band."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def band_binary() -> Path:
    if shutil.which("cc") is None or shutil.which("make") is None:
        hint = "the firmware's host build needs a C compiler and make (Debian: gcc make)"
        pytest.fail(hint) if os.environ.get("CI") else pytest.skip(hint)
    proc = subprocess.run(
        ["make", "-C", "firmware", "build/band_posix"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ROOT / "firmware" / "build" / "band_posix"


def test_the_c_band_streams_through_a_killed_connection_and_gets_rest_over_from_the_service(
    band_binary, tmp_path
):
    import httpx

    from liftsense.ppg import strength_session, to_counts
    from serving.gateway import Gateway, Journal
    from serving.local import LocalServer
    from tests.conftest import request_counts

    rec, state = strength_session(0)
    n = 125 * 300
    ppg, acc = to_counts(rec.ppg[:, :n], rec.acc[:, :n])
    recording = tmp_path / "recording.csv"
    np.savetxt(recording, np.vstack([ppg, acc]).T.astype(np.int64), fmt="%d", delimiter=",")
    set_start = int(np.flatnonzero(np.diff(state[:n]) == 1)[0]) + 1  # the first set's first sample
    speed, band_id, boot_id = 10.0, 21, 4242
    journal = tmp_path / "journal.sqlite"

    async def run(service_url: str):
        gateway = Gateway(journal, service=service_url, process_interval_s=0.05)
        port = await gateway.start("127.0.0.1", 0)
        band = await asyncio.create_subprocess_exec(
            str(band_binary), "127.0.0.1", str(port), str(band_id), str(boot_id), str(recording), str(speed),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await asyncio.sleep((set_start / 125 + 5) / speed)  # 5 s into the first set
        conn = gateway.live.get(band_id)
        assert conn is not None, "the band is not connected"
        conn.writer.transport.abort()  # the connection dies mid-set
        out, err = await asyncio.wait_for(band.communicate(), 120)
        await asyncio.sleep(0.3)
        await gateway.stop()
        return band.returncode, out.decode(), err.decode()

    srv = LocalServer(tmp_path / "service").start()
    try:
        code, out, err = asyncio.run(run(srv.url))
        total, errors = request_counts(httpx.get(f"{srv.url}/metrics").text, ("rest_forecast", "rest_update"))
    finally:
        srv.stop()
    assert total["rest_forecast"] >= 1 and not errors, (total, errors)
    assert code == 0, out + err
    assert "DONE 37500 samples" in out and ", 2 connections" in out, out
    got_seq, got_ppg, got_acc = Journal(journal).samples(band_id, boot_id)
    assert np.array_equal(got_seq, np.arange(n))
    assert np.array_equal(got_ppg, ppg) and np.array_equal(got_acc, acc)
    db = Journal(journal).db
    ends = [r[0] for r in db.execute("SELECT reason FROM decisions WHERE kind = 'rest_over' ORDER BY t_s")]
    commands = [line.split(" ", 3)[3] for line in out.splitlines() if line.startswith("COMMAND 1 ")]
    assert ends and commands == ends, (ends, out)


def test_samples_the_bands_sensor_lost_keep_their_numbers_and_reach_the_gateway_as_lost(
    band_binary, tmp_path
):
    """A FIFO overflow on the band (300 samples, 2.4 s): the samples after it keep their numbers and their times, and
    the gateway records the hole as lost, by the sensor, rather than closing it up or waiting for it forever."""
    import json

    from liftsense.ppg import strength_session, to_counts
    from serving.gateway import Gateway, Journal

    rec, _ = strength_session(1)
    n, lost_from, lost = 125 * 40, 2_010, 300  # mid-frame: the frame before the hole goes out short
    ppg, acc = to_counts(rec.ppg[:, :n], rec.acc[:, :n])
    recording = tmp_path / "recording.csv"
    np.savetxt(recording, np.vstack([ppg, acc]).T.astype(np.int64), fmt="%d", delimiter=",")
    journal = tmp_path / "journal.sqlite"

    async def run():
        gateway = Gateway(journal, process=False)
        port = await gateway.start("127.0.0.1", 0)
        band = await asyncio.create_subprocess_exec(
            str(band_binary), "127.0.0.1", str(port), "22", "77", str(recording), "40", f"{lost_from},{lost}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(band.communicate(), 60)
        await asyncio.sleep(0.2)
        await gateway.stop()
        return band.returncode, out.decode(), err.decode()

    code, out, err = asyncio.run(run())
    assert code == 0 and "300 lost by the sensor" in out, out + err
    kept = np.r_[0:lost_from, lost_from + lost : n]
    got_seq, got_ppg, got_acc = Journal(journal).samples(22, 77)
    assert np.array_equal(got_seq, kept)
    assert np.array_equal(got_ppg, ppg[:, kept]) and np.array_equal(got_acc, acc[:, kept])
    state = Journal(journal).streams()[(22, 77)]
    assert state.samples_lost == lost and state.samples_stored == n - lost
    events = [e for e in Journal(journal).events(22) if "samples_lost" in e]
    assert len(events) == 1 and lost_from in events[0]
    details = json.loads(next(x for x in events[0] if isinstance(x, str) and x.startswith("{")))
    assert details == {"count": lost, "cause": "sensor_fifo_overflow"}
