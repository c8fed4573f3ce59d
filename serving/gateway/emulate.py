"""Bands that play recordings to the gateway, with the faults real bands meet.

    python -m serving.gateway.emulate --bands 20 --port 7100 [--speed 4] [--seconds 60] [--source synthetic|spc2015]
        [--disconnect-every 10] [--corrupt 0.01] [--duplicate 0.01] [--stall 0.005] [--drift-ppm 80] [--reboot-at 30]

Each band behaves as the firmware does (`docs/wristband_protocol.md`): HELLO, then frames of samples in order;
it keeps every frame until the gateway acknowledges it, resends from the gateway's ACK after a reconnect or a
RESEND, and when its buffer is full drops the oldest and says so (GAP_BEFORE and a SAMPLES_DROPPED event).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import random
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from serving.gateway import protocol as p

FS = 125
FRAME_SAMPLES = 25  # 200 ms a frame
#: frames kept for resending: 60 s. The Feather M0's 32 kB of RAM could not hold that (12 bytes a sample: 90 kB),
#: so the firmware keeps fewer; the emulator keeps more so that injected faults, not its buffer, decide the losses
BUFFER_FRAMES = 300


@dataclass
class Faults:
    disconnect_every_s: float = 0.0  # drop the connection this often (0: never)
    corrupt: float = 0.0  # chance a frame's bytes are damaged on the wire
    duplicate: float = 0.0  # chance a frame is sent twice
    stall: float = 0.0  # chance, per frame, of a WiFi stall of 0.2-0.8 s
    drift_ppm: float = 0.0  # the band's clock runs fast by this much
    reboot_at_s: float = 0.0  # the band reboots once at this stream time (sequence numbers restart)


@dataclass
class BandStats:
    connects: int = 0
    frames_sent: int = 0
    frames_resent: int = 0
    corrupted: int = 0
    duplicated: int = 0
    dropped_samples: int = 0  # the band's buffer overflowed
    commands: list[tuple[float, str, int, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)


class EmulatedBand:
    """One band playing (2, n) PPG counts and (3, n) acceleration counts at `FS` samples/s, `speed` times real time."""

    def __init__(self, band_id: int, ppg: np.ndarray, acc: np.ndarray, speed: float = 1.0,
                 faults: Faults | None = None, seed: int = 0, acc_lsb_per_g: int = 8192) -> None:  # fmt: skip
        self.band_id, self.ppg, self.acc, self.speed = band_id, ppg, acc, speed
        self.faults = faults or Faults()
        self.rng = random.Random(seed * 7919 + band_id)
        self.boot_id = self.rng.getrandbits(32)
        self.hello = p.Hello(0x0100, FS, self.boot_id, acc_lsb_per_g, 411, 16384)
        self.stats = BandStats()
        self.unacked: deque[p.Frame] = deque()
        self.acked = 0
        self.resend_from: int | None = None
        self.produced = 0  # samples of the recording framed so far
        self.boots: list[
            tuple[int, int, int]
        ] = []  # (boot_id, recording offset of its sample 0, samples framed)
        self._boot_offset = 0
        self.events: list[p.Frame] = []  # events waiting to be sent (they are not resent: a record, not data)
        self._wake = asyncio.Event()
        self._t0 = 0.0
        self._reconnect = False  # set by a reboot: the connection is dropped and a new HELLO sent
        self._awaiting_hello_ack = True  # the first ACK on a connection says where to resume
        self._sent_upto: dict[
            int, int
        ] = {}  # per boot: the end of what was ever sent (beyond it: new frames)

    # -- the band's own clock and sampling ------------------------------------------------------------------------
    def device_ms(self) -> int:
        return int((time.monotonic() - self._t0) * 1000 * self.speed * (1 + self.faults.drift_ppm * 1e-6))

    async def _sample(self) -> None:
        """Frames the recording at its pace; the buffer drops its oldest frame when full."""
        n = self.ppg.shape[1]
        rebooted = False
        while self.produced < n:
            due = self._t0 + (self.produced + FRAME_SAMPLES) / (FS * self.speed)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if self.faults.reboot_at_s and not rebooted and self.produced >= self.faults.reboot_at_s * FS:
                rebooted = True
                self._reboot()
            k = min(FRAME_SAMPLES, n - self.produced)
            seq = self.produced - self._boot_offset
            sl = slice(self.produced, self.produced + k)
            self.unacked.append(
                p.samples(self.band_id, seq, self.device_ms(), self.ppg[:, sl], self.acc[:, sl])
            )
            self.produced += k
            if len(self.unacked) > BUFFER_FRAMES:
                self._drop_oldest()
            self._wake.set()

    def _drop_oldest(self) -> None:
        """The buffer is full: the oldest frame goes, the next one says that samples before it are gone for
        good (GAP_BEFORE), and an event tells the gateway how many."""
        lost = self.unacked.popleft()
        self.stats.dropped_samples += lost.count
        head = self.unacked[0]
        self.unacked[0] = dataclasses.replace(head, flags=head.flags | p.Flag.GAP_BEFORE)
        self.events.append(
            p.event(self.band_id, lost.seq, self.device_ms(), p.EventCode.SAMPLES_DROPPED, lost.count)
        )

    def _reboot(self) -> None:
        """Power cycle: RAM is gone (unacknowledged frames too), sequence numbers restart under a new boot id."""
        self.boots.append((self.boot_id, self._boot_offset, self.produced - self._boot_offset))
        self.stats.dropped_samples += sum(f.count for f in self.unacked)
        self.unacked.clear()
        self.boot_id = self.rng.getrandbits(32)
        self.hello = p.Hello(self.hello.firmware, FS, self.boot_id, self.hello.acc_lsb_per_g,
                             self.hello.ppg_pulse_width_us, self.hello.ppg_adc_range_na)  # fmt: skip
        self._boot_offset, self.acked, self.resend_from = self.produced, 0, None
        self._reconnect = True

    # -- the connection --------------------------------------------------------------------------------------------
    async def run(self, host: str, port: int) -> BandStats:
        """Play the whole recording and return once every frame is acknowledged."""
        self._t0 = time.monotonic()
        sampler = asyncio.create_task(self._sample())
        try:
            while not (sampler.done() and not self.unacked):
                await self._connection(host, port, sampler)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        self.boots.append((self.boot_id, self._boot_offset, self.produced - self._boot_offset))
        return self.stats

    async def _connection(self, host: str, port: int, sampler: asyncio.Task) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.2 + self.rng.random() * 0.3)  # the gateway is down or restarting: back off
            return
        self.stats.connects += 1
        self._reconnect, self._awaiting_hello_ack, self.resend_from = False, True, None
        boot = self.boot_id
        writer.write(p.encode(p.hello(self.band_id, self.hello, self.device_ms())))
        listener = asyncio.create_task(self._listen(reader, writer))
        deadline = (
            time.monotonic() + self.rng.uniform(0.5, 1.5) * self.faults.disconnect_every_s
            if self.faults.disconnect_every_s
            else float("inf")
        )
        cursor: int | None = (
            None  # the next sequence number to send on this connection (None: wait for the ACK)
        )
        try:
            while not listener.done() and time.monotonic() < deadline and not self._reconnect:
                if sampler.done() and not self.unacked:
                    writer.write(p.encode(p.bye(self.band_id)))
                    await writer.drain()
                    break
                while self.events and cursor is not None:
                    writer.write(p.encode(self.events.pop(0)))
                if self.resend_from is not None:  # the gateway's ACK after HELLO, or a RESEND
                    cursor, self.resend_from = self.resend_from, None
                sent = False
                if cursor is not None:
                    for frame in list(self.unacked):
                        if frame.seq + frame.count <= cursor:
                            continue
                        resent = frame.seq < cursor or frame.seq < self._sent_upto.get(boot, 0)
                        await self._send(writer, frame, resent)
                        cursor = frame.seq + frame.count
                        self._sent_upto[boot] = max(self._sent_upto.get(boot, 0), cursor)
                        sent = True
                        if self.resend_from is not None or self._reconnect:
                            break
                if not sent:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 0.05)
        except ConnectionError:
            pass
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await listener
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _send(self, writer: asyncio.StreamWriter, frame: p.Frame, resent: bool) -> None:
        f = self.faults
        if resent:
            frame = p.Frame(frame.type, frame.band_id, frame.seq, frame.device_ms, frame.flags | p.Flag.RESENT,
                            frame.payload, frame.count)  # fmt: skip
            self.stats.frames_resent += 1
        wire = p.encode(frame)
        if f.stall and self.rng.random() < f.stall:
            await asyncio.sleep(self.rng.uniform(0.2, 0.8) / self.speed)
        if f.corrupt and self.rng.random() < f.corrupt:
            damaged = bytearray(wire)
            i = self.rng.randrange(len(damaged) - 1)
            damaged[i] = (damaged[i] + self.rng.randrange(1, 255)) % 256 or 1
            wire = bytes(damaged)
            self.stats.corrupted += 1
        writer.write(wire)
        if f.duplicate and self.rng.random() < f.duplicate:
            writer.write(p.encode(frame))
            self.stats.duplicated += 1
        self.stats.frames_sent += 1
        await writer.drain()

    async def _listen(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = p.FrameReader()
        while data := await reader.read(4096):
            for frame in frames.feed(data):
                if frame.type is p.FrameType.ACK and frame.ack_boot() == self.boot_id:
                    self.acked = max(self.acked, frame.seq)
                    while self.unacked and self.unacked[0].seq + self.unacked[0].count <= self.acked:
                        self.unacked.popleft()
                    if frame.flags & p.Flag.RESEND or self._awaiting_hello_ack:
                        self.resend_from = max(frame.seq, self.unacked[0].seq if self.unacked else frame.seq)
                    self._awaiting_hello_ack = False
                elif frame.type is p.FrameType.COMMAND:
                    code, arg, reason = frame.command()
                    self.stats.commands.append((time.monotonic() - self._t0, code.name, arg, reason))
                elif frame.type is p.FrameType.TIME_SYNC:  # echoed at once, stamped with the band's clock
                    writer.write(p.encode(p.time_sync(self.band_id, frame.time_sync(), self.device_ms())))
                elif frame.type is p.FrameType.ERROR:
                    self.stats.refusals.append(frame.reason())
                    return
                self._wake.set()


def band_sources(kind: str, n: int, seconds: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """`n` bands' (PPG counts, acceleration counts): SPC-2015's recordings in turn, or 8 simulated strength sessions
    shared between the bands; the first `seconds` of each (0: all)."""
    from liftsense.ppg import strength_session, to_counts

    out = []
    if kind == "spc2015":
        from liftsense.ppg import load_spc2015

        recs = load_spc2015()
        for i in range(n):
            r = recs[i % len(recs)]
            out.append(to_counts(r.ppg, r.acc))
    else:
        sessions = {}
        for i in range(n):
            seed = i % 8  # a few distinct sessions, shared between bands (building one takes a second)
            if seed not in sessions:
                sessions[seed] = to_counts(*(lambda r: (r.ppg, r.acc))(strength_session(seed)[0]))
            out.append(sessions[seed])
    if seconds:
        out = [(ppg[:, : int(seconds * FS)], acc[:, : int(seconds * FS)]) for ppg, acc in out]
    return out


async def play(host: str, port: int, bands: list[EmulatedBand]) -> list[BandStats]:
    return await asyncio.gather(*(b.run(host, port) for b in bands))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m serving.gateway.emulate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--bands", type=int, default=4)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7100)
    ap.add_argument("--speed", type=float, default=1.0, help="times real time")
    ap.add_argument("--seconds", type=float, default=60.0, help="of each recording to play (0: all)")
    ap.add_argument("--source", choices=["synthetic", "spc2015"], default="synthetic")
    ap.add_argument("--first-band-id", type=int, default=1)
    ap.add_argument("--disconnect-every", type=float, default=0.0)
    ap.add_argument("--corrupt", type=float, default=0.0)
    ap.add_argument("--duplicate", type=float, default=0.0)
    ap.add_argument("--stall", type=float, default=0.0)
    ap.add_argument("--drift-ppm", type=float, default=0.0)
    ap.add_argument("--reboot-at", type=float, default=0.0)
    a = ap.parse_args(argv)
    faults = Faults(a.disconnect_every, a.corrupt, a.duplicate, a.stall, a.drift_ppm, a.reboot_at)
    bands = [
        EmulatedBand(a.first_band_id + i, ppg, acc, a.speed, faults, seed=i)
        for i, (ppg, acc) in enumerate(band_sources(a.source, a.bands, a.seconds))
    ]
    t0 = time.monotonic()
    stats = asyncio.run(play(a.host, a.port, bands))
    for band, s in zip(bands, stats, strict=True):
        print(f"band {band.band_id}: {band.produced} samples, {s.connects} connections, {s.frames_sent} frames "
              f"({s.frames_resent} resent, {s.corrupted} corrupted, {s.duplicated} duplicated), "
              f"{s.dropped_samples} dropped, commands {[c[1] for c in s.commands]}")  # fmt: skip
    print(f"done in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
