"""The wristband gateway: protocol v1 (round trips, the shared vectors, every refusal), and the gateway under the
faults real bands meet (disconnects, corrupt bytes, duplicates, a reboot, a SIGKILL and restart, fuzzed input):
every sample a band sent is in the journal exactly once, equal to what was sent."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from serving.gateway import Gateway, Journal
from serving.gateway import protocol as p
from serving.gateway.emulate import EmulatedBand, Faults

ROOT = Path(__file__).resolve().parents[1]


# -- protocol ------------------------------------------------------------------------------------------------------
def test_cobs_matches_the_published_examples_and_round_trips():
    assert p.cobs_encode(b"\x00") == b"\x01\x01"
    assert p.cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert p.cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255)) + b"\x01"
    assert p.cobs_encode(bytes(range(1, 256))) == b"\xff" + bytes(range(1, 255)) + b"\x02\xff"
    rng = random.Random(0)
    for n in (0, 1, 253, 254, 255, 508, 800):
        data = bytes(rng.choice([0, 0, rng.randrange(256)]) for _ in range(n))
        wire = p.cobs_encode(data)
        assert b"\x00" not in wire and p.cobs_decode(wire) == data


def test_the_shared_vectors_are_what_the_codec_writes_and_reads():
    shared = json.loads((ROOT / p.VECTORS_PATH).read_text())
    assert shared["protocol_version"] == p.VERSION
    assert shared["vectors"] == p.vectors()  # regenerate with serving.gateway.protocol.write_vectors()
    for v in shared["vectors"]:
        wire = bytes.fromhex(v["wire_hex"])
        assert wire.endswith(b"\x00") and b"\x00" not in wire[:-1]
        frame = p.decode(p.cobs_decode(wire[:-1]))
        got = {"type": frame.type.name, "band_id": frame.band_id, "seq": frame.seq, "device_ms": frame.device_ms,
               "flags": frame.flags, "count": frame.count, "payload_hex": frame.payload.hex()}  # fmt: skip
        assert got == {k: v[k] for k in got}, v["name"]


def test_samples_round_trip_at_the_sensors_full_range():
    rng = np.random.default_rng(1)
    ppg = rng.integers(0, 1 << 18, (2, 64)).astype(np.uint32)
    acc = rng.integers(-32768, 32768, (3, 64)).astype(np.int16)
    frame = p.FrameReader().feed(p.encode(p.samples(3, 2**32 - 64, 2**32 - 1, ppg, acc)))[0]
    got_ppg, got_acc = frame.samples()
    assert np.array_equal(got_ppg, ppg) and np.array_equal(got_acc, acc)
    assert (frame.seq, frame.device_ms, frame.count) == (2**32 - 64, 2**32 - 1, 64)
    with pytest.raises(p.ProtocolError, match="1-64 samples"):
        p.samples(3, 0, 0, np.zeros((2, 65), np.uint32), np.zeros((3, 65), np.int16))
    with pytest.raises(p.ProtocolError, match="24-bit"):
        p.samples(3, 0, 0, np.full((2, 1), 1 << 24), np.zeros((3, 1), np.int16))


def _raw(version=1, kind=2, count=1, payload=b"\x00" * 12, crc_ok=True) -> bytes:
    import zlib

    body = p.HEADER.pack(version, kind, 0, 1, 0, 0, count) + payload
    crc = zlib.crc32(body) ^ (0 if crc_ok else 1)
    return body + p.CRC.pack(crc)


@pytest.mark.parametrize(
    "raw, reason",
    [
        (_raw(version=2), "protocol version 2 is not supported"),
        (_raw(kind=99), "unknown frame type 99"),
        (_raw(crc_ok=False), "CRC mismatch"),
        (_raw(count=2), "says 2 samples but holds 12 bytes"),
        (_raw(count=0, payload=b""), "says 0 samples"),
        (_raw(kind=1, count=0, payload=b"\x01"), "HELLO payload of 1 bytes"),
        (_raw(kind=3, count=1, payload=b""), "ACK frame with a sample count"),
        (b"\x01\x02", "shorter than a header"),
    ],
)
def test_what_is_not_protocol_v1_is_refused_with_the_reason(raw, reason):
    with pytest.raises(p.ProtocolError, match=reason):
        p.decode(raw)


def test_the_reader_resynchronises_after_garbage_and_stays_bounded():
    rng = random.Random(2)
    good = p.encode(p.samples(1, 0, 0, np.ones((2, 5), np.uint32), np.ones((3, 5), np.int16)))
    reader = p.FrameReader()
    frames = reader.feed(good[:10])  # a frame split across reads
    frames += reader.feed(good[10:] + bytes(rng.randrange(1, 256) for _ in range(100_000)))  # no delimiter
    assert len(reader._pending) <= p.MAX_WIRE_BYTES
    frames += reader.feed(b"\x00" + good + good[:-5] + b"\x00" + good)  # garbage ends; a truncated frame
    assert [f.type for f in frames] == [p.FrameType.SAMPLES] * 3
    assert reader.corrupt == 2 and "longer than any valid one" in reader.refused[0]


# -- the gateway under faults ----------------------------------------------------------------------------------------
def _signals(n: int, seconds: float, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per band: (2, k) PPG and (3, k) acceleration counts of a simulated strength session, each band its own."""
    from liftsense.ppg import strength_session, to_counts

    rec, _ = strength_session(seed)
    k = int(seconds * 125)
    return [
        to_counts(np.roll(rec.ppg, -i * 997, axis=1)[:, :k], np.roll(rec.acc, -i * 997, axis=1)[:, :k])
        for i in range(n)
    ]


def _assert_every_sample_once(journal: Journal, bands: list[EmulatedBand]) -> None:
    streams = journal.streams()
    for band in bands:
        assert sum(n for _, _, n in band.boots) == band.ppg.shape[1]
        for boot, offset, n in band.boots:
            seq, ppg, acc = journal.samples(band.band_id, boot)
            assert np.array_equal(seq, np.arange(n)), (band.band_id, boot, len(seq), n)
            assert np.array_equal(ppg, band.ppg[:, offset : offset + n])
            assert np.array_equal(acc, band.acc[:, offset : offset + n])
            assert streams[(band.band_id, boot)].samples_lost == 0


def _assert_readings_as_uninterrupted(journal: Journal, bands: list[EmulatedBand]) -> None:
    """The journal's readings per stream equal those of the library run on the whole recording at once."""
    from liftsense.ppg import from_counts
    from liftsense.resthr import LiveSession
    from serving.gateway.processing import readings

    for band in bands:
        for boot, offset, n in band.boots:
            session = LiveSession(None)
            ppg, acc = from_counts(band.ppg[:, offset : offset + n], band.acc[:, offset : offset + n])
            expected = []
            for k in range(0, n, 25):
                expected += [
                    (r.t_s, r.bpm, r.sqi)
                    for r in session.push(ppg[:, k : k + 25], acc[:, k : k + 25]).readings
                ]
            got = readings(journal, band.band_id, boot)
            assert len(expected) > 5 and got == expected, (band.band_id, len(got), len(expected))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_disconnects_corruption_and_duplicates_lose_and_repeat_nothing(tmp_path):
    faults = Faults(disconnect_every_s=0.25, corrupt=0.02, duplicate=0.02, stall=0.01)
    bands = [EmulatedBand(i + 1, ppg, acc, speed=12, faults=faults, seed=i)
             for i, (ppg, acc) in enumerate(_signals(3, 40))]  # fmt: skip

    async def run():
        gateway = Gateway(tmp_path / "journal.sqlite")
        port = await gateway.start("127.0.0.1", 0)
        stats = await asyncio.wait_for(asyncio.gather(*(b.run("127.0.0.1", port) for b in bands)), 60)
        status = gateway.status()
        await gateway.stop()
        return stats, status

    stats, status = asyncio.run(run())
    assert all(s.connects >= 10 for s in stats), [s.connects for s in stats]  # at least 10 disconnects each
    assert sum(s.corrupted for s in stats) > 0 and sum(s.duplicated for s in stats) > 0
    assert status["counters"]["corrupt_frames"] >= sum(s.corrupted for s in stats) // 2
    assert sum(b[0]["samples_duplicated"] for b in status["bands"].values()) > 0  # seen, and dropped
    _assert_every_sample_once(Journal(tmp_path / "journal.sqlite"), bands)
    _assert_readings_as_uninterrupted(Journal(tmp_path / "journal.sqlite"), bands)


def test_a_reboot_starts_a_new_stream_and_both_are_kept(tmp_path):
    ((ppg, acc),) = _signals(1, 20)
    band = EmulatedBand(9, ppg, acc, speed=10, faults=Faults(reboot_at_s=8.0))

    async def run():
        gateway = Gateway(tmp_path / "journal.sqlite")
        port = await gateway.start("127.0.0.1", 0)
        await asyncio.wait_for(band.run("127.0.0.1", port), 30)
        await gateway.stop()

    asyncio.run(run())
    assert (
        len(band.boots) == 2 and band.boots[1][1] == 1000
    )  # sample 1000 of the recording is the new boot's 0
    # what the band held unacknowledged when it rebooted is gone from RAM: the journal has everything it kept
    journal = Journal(tmp_path / "journal.sqlite")
    (boot0, _, n0), (boot1, off1, n1) = band.boots
    # unacknowledged is not unstored: the ACK of what the band dropped may have been on its way
    seq0, got0, _ = journal.samples(9, boot0)
    assert n0 - band.stats.dropped_samples <= len(seq0) <= n0
    assert np.array_equal(seq0, np.arange(len(seq0))) and np.array_equal(got0, ppg[:, : len(seq0)])
    seq, got, _ = journal.samples(9, boot1)
    assert np.array_equal(seq, np.arange(n1)) and np.array_equal(got, ppg[:, off1 : off1 + n1])


def test_a_full_band_buffer_drops_its_oldest_and_the_gateway_counts_them_lost(tmp_path, monkeypatch):
    import serving.gateway.emulate as emulate

    monkeypatch.setattr(emulate, "BUFFER_FRAMES", 10)  # 2 s of samples: a 3 s outage overflows it
    ((ppg, acc),) = _signals(1, 12)
    band = EmulatedBand(4, ppg, acc, speed=2)

    async def run():
        port = _free_port()
        gateway = Gateway(tmp_path / "journal.sqlite")
        await gateway.start("127.0.0.1", port)
        task = asyncio.create_task(band.run("127.0.0.1", port))
        await asyncio.sleep(1.0)
        await gateway.stop()  # the gateway is away for 1.5 s (3 s of stream time at twice real time)
        await asyncio.sleep(1.5)
        gateway = Gateway(tmp_path / "journal.sqlite")
        await gateway.start("127.0.0.1", port)
        await asyncio.wait_for(task, 30)
        await gateway.stop()

    asyncio.run(run())
    journal = Journal(tmp_path / "journal.sqlite")
    ((boot, _, n),) = band.boots
    state = journal.streams()[(4, boot)]
    assert band.stats.dropped_samples > 0
    assert state.samples_lost == band.stats.dropped_samples and state.samples_stored + state.samples_lost == n
    seq, got, _ = journal.samples(4, boot)
    assert np.array_equal(got, ppg[:, seq])  # what is stored is what was sent, at its own sequence numbers


def test_a_sigkilled_gateway_restarts_and_loses_nothing_it_acknowledged(tmp_path):
    port, journal = _free_port(), tmp_path / "journal.sqlite"
    cmd = [sys.executable, "-m", "serving.gateway", "--port", str(port), "--journal", str(journal)]

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "gateway on" in proc.stdout.readline()
        return proc

    bands = [EmulatedBand(i + 1, ppg, acc, speed=8, seed=i) for i, (ppg, acc) in enumerate(_signals(4, 40))]
    kills = 0

    async def run():
        nonlocal kills
        proc = start()
        task = asyncio.gather(*(b.run("127.0.0.1", port) for b in bands))
        try:
            for _ in range(2):
                await asyncio.sleep(1.2)
                os.kill(proc.pid, signal.SIGKILL)  # no chance to commit what waits for the disk
                proc.wait()
                kills += 1
                await asyncio.sleep(0.3)
                proc = start()
            await asyncio.wait_for(task, 60)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)

    asyncio.run(run())
    assert kills == 2 and all(b.stats.connects >= 3 for b in bands)
    _assert_every_sample_once(Journal(journal), bands)
    _assert_readings_as_uninterrupted(Journal(journal), bands)  # the processor resumed from its saved state


def test_fuzzed_connections_are_counted_and_other_bands_are_unaffected(tmp_path):
    ((ppg, acc),) = _signals(1, 30)
    band = EmulatedBand(1, ppg, acc, speed=6)
    rng = random.Random(5)
    good = p.encode(p.samples(1, 0, 0, np.ones((2, 3), np.uint32), np.ones((3, 3), np.int16)))
    attacks = [
        bytes(rng.randrange(256) for _ in range(5000)),  # random bytes
        p.encode(p.hello(2, band.hello))[:-6] + b"\x00",  # a truncated frame
        good[:-3] + bytes([good[-3] ^ 0xFF]) + good[-2:],  # a wrong CRC
        bytes(rng.randrange(1, 256) for _ in range(200_000)),  # an absurd length
        p.encode(p.hello(1, band.hello)) + good,  # a HELLO with the streaming band's id
        p.encode(p.samples(1, 0, 0, np.ones((2, 3), np.uint32), np.ones((3, 3), np.int16))),  # before HELLO
    ]

    async def attack(port: int, data: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for k in range(0, len(data), 4096):
            writer.write(data[k : k + 4096])
            await writer.drain()
        writer.write_eof()
        with __import__("contextlib").suppress(ConnectionError):
            await asyncio.wait_for(reader.read(), 5)
        writer.close()

    async def run():
        gateway = Gateway(tmp_path / "journal.sqlite")
        port = await gateway.start("127.0.0.1", 0)
        task = asyncio.create_task(band.run("127.0.0.1", port))
        await asyncio.sleep(0.5)
        await asyncio.gather(*(attack(port, a) for a in attacks))
        await asyncio.wait_for(task, 30)
        status = gateway.status()
        await gateway.stop()
        return status

    status = asyncio.run(run())
    c = status["counters"]
    assert c["hello_conflicts"] == 1 and c["corrupt_frames"] >= 3 and c["refused_frames"] >= 1, c
    assert list(status["bands"]) == ["1"]  # no stream was opened by the attacks
    _assert_every_sample_once(Journal(tmp_path / "journal.sqlite"), [band])


def test_rest_over_reaches_the_band_and_the_sessions_pass_the_hr_data_gate(tmp_path):
    """A replayed strength session: the gateway tells the band each rest is over (the command carries the HR and
    the reason, within 2 s of the deciding sample), and the journal exports as a valid session table."""
    ((ppg, acc),) = _signals(1, 600)
    speed = 8.0
    band = EmulatedBand(5, ppg, acc, speed=speed)
    journal = tmp_path / "journal.sqlite"

    async def run():
        gateway = Gateway(journal, process_interval_s=0.05)
        port = await gateway.start("127.0.0.1", 0)
        await asyncio.wait_for(band.run("127.0.0.1", port), 120)
        await asyncio.sleep(0.5)
        await gateway.stop()

    asyncio.run(run())
    db = Journal(journal).db
    ends = db.execute(
        "SELECT t_s, reason, detail FROM decisions WHERE kind = 'rest_over' ORDER BY t_s"
    ).fetchall()
    assert len(ends) >= 1
    got = [c for c in band.stats.commands if c[1] == "REST_OVER"]
    assert [c[3] for c in got] == [reason for _, reason, _ in ends]
    for (t_s, _, detail), (wall_s, _, arg, _) in zip(ends, got, strict=True):
        assert arg == round(json.loads(detail)["hr"] or 0)
        # from the deciding sample's frame leaving the band (at t_s / speed) to the command reaching it: within 2 s
        # of real time, as a band at real speed needs (the replay runs 8x faster, the gateway's work does not)
        assert wall_s - t_s / speed <= 2.0

    out = tmp_path / "sessions.csv"
    proc = subprocess.run([sys.executable, "-m", "serving.gateway", "--journal", str(journal), "--export", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0 and "1 sessions" in proc.stdout, proc.stdout + proc.stderr
    gate = subprocess.run([sys.executable, "-m", "data_validation", "validate", "hr", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert gate.returncode == 0, gate.stdout[-2000:] + gate.stderr[-2000:]


def test_the_gateway_fits_a_drifting_band_clock_to_its_own():
    from serving.gateway.server import fit_clock

    rng = np.random.default_rng(4)
    gateway_ms = np.sort(rng.uniform(0, 60_000, 40)) + 1.7e12
    rtt = rng.uniform(0.2, 3.0, 40)
    band_ms = np.floor((gateway_ms - 1.7e12 + rng.uniform(-0.5, 0.5, 40) * rtt) * (1 + 150e-6) + 5000)
    drift, offset = fit_clock(list(zip(gateway_ms, band_ms, rtt, strict=True)))
    assert abs(drift - 150) < 25 and abs(offset - (1.7e12 - 5000 / (1 + 150e-6))) < 5
    assert fit_clock([(1.0, 1.0, 1.0)] * 3) is None  # too few round trips to say


def test_time_sync_round_trips_reach_the_stream_state(tmp_path):
    ((ppg, acc),) = _signals(1, 8)
    band = EmulatedBand(6, ppg, acc, speed=1.0, faults=Faults(drift_ppm=2000.0))

    async def run():
        gateway = Gateway(tmp_path / "journal.sqlite", process=False, time_sync_every_s=0.1)
        port = await gateway.start("127.0.0.1", 0)
        await asyncio.wait_for(band.run("127.0.0.1", port), 30)
        await gateway.stop()

    asyncio.run(run())
    (state,) = Journal(tmp_path / "journal.sqlite").streams().values()
    assert state.clock_drift_ppm is not None and abs(state.clock_drift_ppm - 2000.0) < 500, state


def test_a_band_speaking_another_protocol_version_is_told_why_and_disconnected(tmp_path):
    import zlib

    body = p.HEADER.pack(2, p.FrameType.HELLO, 0, 3, 0, 0, 0) + b"\x00" * p.Hello.STRUCT.size
    v2_hello = p.cobs_encode(body + p.CRC.pack(zlib.crc32(body))) + b"\x00"

    async def run():
        gateway = Gateway(tmp_path / "journal.sqlite", process=False)
        port = await gateway.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(v2_hello)
        answer = await asyncio.wait_for(reader.read(), 5)  # the gateway answers, then closes
        writer.close()
        status = gateway.status()
        await gateway.stop()
        return answer, status

    answer, status = asyncio.run(run())
    (frame,) = p.FrameReader().feed(answer)
    assert frame.type is p.FrameType.ERROR and "protocol version 2 is not supported" in frame.reason()
    assert "protocol version 2" in status["counters"]["last_refusals"][-1] and not status["bands"]


def test_with_a_service_the_rest_forecasts_come_from_it(tmp_path):
    """`--service URL`: set ends and rests ask the real service (`bentoml serve`) for the forecast and its updates."""
    import httpx

    from serving.local import LocalServer
    from tests.conftest import request_counts

    ((ppg, acc),) = _signals(1, 300)
    band = EmulatedBand(8, ppg, acc, speed=10)
    journal = tmp_path / "journal.sqlite"
    srv = LocalServer(tmp_path / "service").start()
    try:

        async def run():
            gateway = Gateway(journal, service=srv.url, process_interval_s=0.05)
            port = await gateway.start("127.0.0.1", 0)
            await asyncio.wait_for(band.run("127.0.0.1", port), 120)
            await gateway.stop()

        asyncio.run(run())
        total, errors = request_counts(httpx.get(f"{srv.url}/metrics").text, ("rest_forecast", "rest_update"))
    finally:
        srv.stop()
    forecasts = (
        Journal(journal).db.execute("SELECT t_s, reason FROM decisions WHERE kind = 'forecast'").fetchall()
    )
    assert forecasts and total["rest_forecast"] >= 1 and total["rest_update"] >= 1 and not errors, (
        total,
        errors,
    )
    assert total["rest_forecast"] + total["rest_update"] >= len(forecasts)


def test_sessions_are_saved_a_few_at_a_time_each_within_the_checkpoint_interval(tmp_path, monkeypatch):
    """Saving every session at once (18 MB at 200 bands) held the journal's write lock for 100-150 ms, and the
    gateway's ACKs waited: each step saves only the sessions whose turn it is, and each is saved within
    CHECKPOINT_S of the last time."""
    import dataclasses

    from serving.gateway import processing
    from serving.gateway.journal import PendingFrame, StreamState

    clock = [1000.0]
    monkeypatch.setattr(processing.time, "monotonic", lambda: clock[0])
    n_bands, step_s = 25, 0.2
    signals = _signals(n_bands, 30)
    journal = Journal(tmp_path / "journal.sqlite")
    hello = {"sample_rate_hz": 125, "acc_lsb_per_g": 8192}
    states = {(b, 1): StreamState(b, 1, hello) for b in range(n_bands)}
    processor = processing.Processor(journal, None)
    saves: list[int] = []
    last_saved: dict[int, float] = {}
    real_commit = processor._commit

    def counting_commit(readings, phases, decisions, saved):
        saves.append(len(saved))
        for band, *_ in saved:
            last_saved[band] = clock[0]
        return real_commit(readings, phases, decisions, saved)

    processor._commit = counting_commit
    for k in range(int(12 / step_s)):  # 12 s: each band sends one 25-sample frame a step
        frames = [PendingFrame(b, 1, 25 * k, 25, 0, 0, 0.0, p.samples(b, 25 * k, 0, *(x[:, 25 * k : 25 * (k + 1)]
                  for x in signals[b])).payload) for b in range(n_bands)]  # fmt: skip
        for s in states.values():
            s.next_seq = 25 * (k + 1)
        journal.commit(frames, [dataclasses.replace(s) for s in states.values()])
        processor.step(journal.streams())
        clock[0] += step_s
        if (
            k * step_s >= processing.CHECKPOINT_S
        ):  # after the first interval every band has been saved, and again
            assert all(
                clock[0] - last_saved[b] <= processing.CHECKPOINT_S + 2 * step_s for b in range(n_bands)
            )
    steps_per_interval = processing.CHECKPOINT_S / step_s
    assert max(saves) <= 2 * n_bands / steps_per_interval + 1, saves  # a few a step, never all at once
    assert sum(saves) >= n_bands * 2  # and every one, over and over


def test_a_commit_of_more_rows_than_one_statement_holds_keeps_every_frame(tmp_path):
    """Frames go in as multi-row INSERTs of `ROWS_PER_STATEMENT`: a commit of more (a backlog after a disk stall)
    is split, and a frame already stored is ignored, not duplicated."""
    from serving.gateway.journal import ROWS_PER_STATEMENT, PendingFrame, StreamState

    ((ppg, acc),) = _signals(1, 25 * (2 * ROWS_PER_STATEMENT + 7) / 125)
    n_frames = ppg.shape[1] // 25
    frames = [PendingFrame(3, 9, 25 * k, 25, 8 * 25 * k, 0, 0.0,
                           p.samples(3, 25 * k, 0, ppg[:, 25 * k : 25 * k + 25], acc[:, 25 * k : 25 * k + 25]).payload)
              for k in range(n_frames)]  # fmt: skip
    journal = Journal(tmp_path / "journal.sqlite")
    state = StreamState(3, 9, {"sample_rate_hz": 125})
    state.next_seq = 25 * n_frames
    journal.commit(frames, [state])
    journal.commit(frames[:3], [state])  # a resend of frames already stored
    seq, got_ppg, got_acc = journal.samples(3, 9)
    assert np.array_equal(seq, np.arange(25 * n_frames))
    assert np.array_equal(got_ppg, ppg[:, : 25 * n_frames]) and np.array_equal(
        got_acc, acc[:, : 25 * n_frames]
    )
    assert journal.streams()[(3, 9)].next_seq == 25 * n_frames
