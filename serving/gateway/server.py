"""The gateway: many bands over TCP, every accepted sample journaled before it is acknowledged.

Per connection: resynchronise after corrupt bytes (COBS framing), refuse what is not protocol v1 with a reason,
drop duplicates, ask for a resend when a frame is missing (a corrupt one was dropped), and count every sample the
band says it lost. Receiving never waits for the disk: accepted frames wait in memory for the next commit (every
`commit_interval_s`, in a worker thread), and each band's ACK goes out once its frames are durable. A bounded
backlog protects memory: when the disk falls behind, new frames are refused (not acknowledged, so the band keeps
and resends them) and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import multiprocessing
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from serving.gateway import protocol as p
from serving.gateway.journal import Journal, PendingFrame, StreamState
from serving.gateway.processing import percentiles_ms, run_processor, spread_phase

log = logging.getLogger("liftsense.gateway")

#: a connection silent this long is closed (a band streams 125 samples a second; WiFi stalls last < 1 s)
IDLE_TIMEOUT_S = 10.0
#: frames waiting for the disk, all bands together: beyond this new frames are refused until a commit
MAX_BACKLOG_FRAMES = 50_000
#: how often each band's clock is sampled (TIME_SYNC round trips), and how many round trips a fit keeps
TIME_SYNC_EVERY_S = 5.0
TIME_SYNC_KEPT = 120


@dataclass
class Counters:
    connections: int = 0
    frames: int = 0
    corrupt_frames: int = 0
    refused_frames: int = 0  # valid frames refused: before HELLO, another band's id, unexpected type
    hello_conflicts: int = 0  # a HELLO for a band already connected elsewhere
    backlog_refused: int = 0  # frames refused because the disk was behind (the band resends them)
    last_refusals: list[str] = field(default_factory=list)

    def refuse(self, reason: str) -> None:
        self.refused_frames += 1
        self.last_refusals = [*self.last_refusals[-9:], reason]


class Connection:
    """One band's TCP connection: its frame reader, and where its stream stands."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.reader = p.FrameReader()
        self.band_id: int | None = None
        self.stream: StreamState | None = None
        # one RESEND per hole, again only if the hole is still open a second later (the resent frame was corrupt)
        self.resend_asked_at: int | None = None
        self.resend_asked_s = 0.0
        self.acked: int = -1
        self.synced_s = 0.0  # when the last TIME_SYNC went out

    def send(self, frame: p.Frame) -> None:
        if not self.writer.is_closing():
            self.writer.write(p.encode(frame))


class Gateway:
    def __init__(
        self,
        journal_path: str | Path,
        commit_interval_s: float = 0.02,
        service: str | None = None,
        process: bool = True,
        process_interval_s: float = 0.2,
        time_sync_every_s: float = TIME_SYNC_EVERY_S,
    ) -> None:
        """`service`: the LiftSense service's URL for rest forecasts (None: the library's forecaster in process).
        `process=False`: journal only (no heart rate, phases or rests)."""
        self.journal_path = Path(journal_path)
        self.journal = Journal(journal_path)
        self.streams: dict[tuple[int, int], StreamState] = self.journal.streams()
        self.service, self.process, self.process_interval_s = service, process, process_interval_s
        self.time_sync_every_s = time_sync_every_s
        self._processor = None  # the processing process, its queue of results and its stop event
        self._processor_task: asyncio.Task | None = None
        self.processing: dict = {}  # the processor's last status (latency, per stream phase, target, reading)
        self._unsent: dict[int, p.Frame] = {}  # the last command for a band that was not connected
        self._clock_samples: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
        self.live: dict[int, Connection] = {}
        self.counters = Counters()
        self.commit_interval_s = commit_interval_s
        self._pending: list[PendingFrame] = []
        self._dirty: dict[tuple[int, int], StreamState] = {}
        self._events: list[tuple[int, int, int, str, str, float]] = []
        self._disk = ThreadPoolExecutor(1, thread_name_prefix="journal")
        self._servers: list[asyncio.base_events.Server] = []
        self._committer: asyncio.Task | None = None
        self.ack_latency_s: list[float] = []  # receipt to ACK, for the benchmark (newest 100,000)
        self._status_tick = asyncio.Event()  # set (and replaced) each time the processor reports

    # -- lifecycle -------------------------------------------------------------------------------------------------
    async def start(self, host: str, port: int, status_port: int | None = None) -> int:
        server = await asyncio.start_server(self._serve, host, port)
        self._servers.append(server)
        if status_port is not None:
            self._servers.append(await asyncio.start_server(self._serve_status, host, status_port))
        self._committer = asyncio.create_task(self._commit_loop())
        self.journal.checkpoint_apart()
        if self.process:
            # its own process: heart rate for 200 bands is half a core, and in a thread it took the GIL from receiving
            ctx = multiprocessing.get_context("spawn")
            queue, stop = ctx.Queue(), ctx.Event()
            proc = ctx.Process(target=run_processor, name="liftsense-processing", daemon=True,
                               args=(str(self.journal_path), self.service, self.process_interval_s, queue, stop))  # fmt: skip
            proc.start()
            self._processor = (proc, queue, stop)
            self._processor_task = asyncio.create_task(self._process_loop())
        return server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self.live.values()):
            conn.writer.close()
        if self._committer:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        await self._commit()
        self._disk.shutdown(wait=True)
        self.journal.close()
        if self._processor is not None:  # what was committed last is processed and saved too
            proc, _, stop = self._processor
            stop.set()
            await asyncio.get_running_loop().run_in_executor(None, proc.join, 60)
            self._drain()
            if self._processor_task:
                self._processor_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._processor_task

    # -- receiving -------------------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(writer)
        self.counters.connections += 1
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT_S)
                if not data:
                    break
                seen = conn.reader.corrupt
                frames = conn.reader.feed(data)
                if conn.reader.corrupt > seen:
                    reasons = conn.reader.refused[-(conn.reader.corrupt - seen) :]
                    self.counters.last_refusals = [*self.counters.last_refusals, *reasons][-10:]
                    unsupported = [r for r in reasons if r.startswith("protocol version")]
                    if unsupported:  # a band speaking another version is told why, not misread
                        conn.send(p.error(conn.band_id or 0, unsupported[0]))
                        return
                for frame in frames:
                    if not self._on_frame(conn, frame):
                        return
                self.counters.frames += len(frames)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.counters.corrupt_frames += conn.reader.corrupt
            if conn.band_id is not None and self.live.get(conn.band_id) is conn:
                del self.live[conn.band_id]
            writer.close()

    def _on_frame(self, conn: Connection, frame: p.Frame) -> bool:
        """Handle one frame; False closes the connection."""
        if frame.type is p.FrameType.HELLO:
            return self._on_hello(conn, frame)
        if conn.stream is None:
            self.counters.refuse(f"{frame.type.name} before HELLO")
            return True
        if frame.band_id != conn.band_id:
            self.counters.refuse(
                f"{frame.type.name} for band {frame.band_id} on band {conn.band_id}'s connection"
            )
            return True
        if frame.type is p.FrameType.SAMPLES:
            self._on_samples(conn, frame)
        elif frame.type is p.FrameType.EVENT:
            code, arg = frame.event()
            s = conn.stream
            self._events.append(
                (s.band_id, s.boot_id, frame.seq, code.name.lower(), json.dumps({"arg": arg}), time.time())
            )
        elif frame.type is p.FrameType.BYE:
            return False
        elif frame.type is p.FrameType.TIME_SYNC:
            self._on_time_sync(conn, frame)
        else:
            self.counters.refuse(f"{frame.type.name} is not sent by a band")
        return True

    def _on_hello(self, conn: Connection, frame: p.Frame) -> bool:
        try:
            hello = frame.hello()
        except p.ProtocolError as exc:
            self.counters.refuse(str(exc))
            return True
        if conn.band_id is not None and frame.band_id != conn.band_id:
            conn.send(p.error(frame.band_id, f"this connection is band {conn.band_id}'s"))
            self.counters.refuse(f"HELLO for band {frame.band_id} on band {conn.band_id}'s connection")
            return False
        other = self.live.get(frame.band_id)
        if other is not None and other is not conn:
            self.counters.hello_conflicts += 1
            conn.send(p.error(frame.band_id, f"band {frame.band_id} is connected elsewhere"))
            return False
        key = (frame.band_id, hello.boot_id)
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = StreamState(frame.band_id, hello.boot_id, asdict(hello))
            self._dirty[key] = stream
        conn.band_id, conn.stream, conn.resend_asked_at = frame.band_id, stream, None
        # the first TIME_SYNC at a phase of its own: bands that connect together would otherwise all answer, and be
        # fitted, in one burst every interval
        conn.synced_s = time.monotonic() - spread_phase(frame.band_id) * self.time_sync_every_s
        self.live[frame.band_id] = conn
        conn.acked = stream.next_seq
        conn.send(p.ack(frame.band_id, hello.boot_id, stream.next_seq))  # resume from here
        if frame.band_id in self._unsent:  # a decision taken while the band was away
            conn.send(self._unsent.pop(frame.band_id))
        return True

    def _on_time_sync(self, conn: Connection, frame: p.Frame) -> None:
        """A band's echo: (the gateway's clock halfway through the round trip, the band's clock, the round trip)."""
        sent_us, now_us = frame.time_sync(), time.time_ns() // 1000
        if not 0 <= now_us - sent_us < 10_000_000:
            self.counters.refuse("TIME_SYNC echo of a time this gateway did not send")
            return
        key = (conn.stream.band_id, conn.stream.boot_id)
        samples = self._clock_samples.setdefault(key, [])
        samples.append(((sent_us + now_us) / 2000.0, float(frame.device_ms), (now_us - sent_us) / 1000.0))
        del samples[:-TIME_SYNC_KEPT]
        fit = fit_clock(samples)
        if fit is not None:
            conn.stream.clock_drift_ppm, conn.stream.clock_offset_ms = fit
            self._dirty[key] = conn.stream

    def _on_samples(self, conn: Connection, frame: p.Frame) -> None:
        s = conn.stream
        end = frame.seq + frame.count
        if end <= s.next_seq:
            s.samples_duplicated += frame.count
            self._dirty[(s.band_id, s.boot_id)] = s
            return
        if frame.seq > s.next_seq:
            if frame.flags & p.Flag.GAP_BEFORE:
                s.samples_lost += frame.seq - s.next_seq
                cause = "sensor_fifo_overflow" if frame.flags & p.Flag.FIFO_OVERFLOW else "band_buffer_full"
                self._events.append((s.band_id, s.boot_id, s.next_seq, "samples_lost",
                                     json.dumps({"count": frame.seq - s.next_seq, "cause": cause}), time.time()))  # fmt: skip
                s.next_seq = frame.seq
            else:  # the frame before was dropped (corrupt): ask for everything from the hole, once
                s.frames_ahead += 1
                if conn.resend_asked_at != s.next_seq or time.monotonic() - conn.resend_asked_s > 1.0:
                    conn.resend_asked_at, conn.resend_asked_s = s.next_seq, time.monotonic()
                    conn.send(p.ack(s.band_id, s.boot_id, s.next_seq, resend=True))
                return
        if len(self._pending) >= MAX_BACKLOG_FRAMES:
            self.counters.backlog_refused += 1
            return  # not acknowledged: the band keeps it and resends
        skip = s.next_seq - frame.seq  # a resent frame that overlaps what is stored: keep the new tail
        s.samples_duplicated += skip
        self._pending.append(
            PendingFrame(
                s.band_id,
                s.boot_id,
                s.next_seq,
                frame.count - skip,
                frame.device_ms,
                frame.flags,
                time.time(),
                frame.payload[skip * p.SAMPLE_BYTES :],
            )
        )
        s.samples_stored += frame.count - skip
        s.next_seq = end
        self._dirty[(s.band_id, s.boot_id)] = s

    # -- durability and acknowledgement ---------------------------------------------------------------------------
    async def _commit_loop(self) -> None:
        """A commit every `commit_interval_s` from the last one's start, not its end: a slow commit does not stretch
        the wait of the frames behind it."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += self.commit_interval_s
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            else:  # behind: go at once, and count the interval from now
                due = loop.time()
                await asyncio.sleep(0)
            self._time_sync()
            try:
                await self._commit()
            except Exception:  # a disk error: nothing is acknowledged; the bands keep their frames
                log.exception("journal commit failed")

    def _time_sync(self) -> None:
        now = time.monotonic()
        for conn in self.live.values():
            if conn.stream is not None and now - conn.synced_s >= self.time_sync_every_s:
                conn.synced_s = now
                conn.send(p.time_sync(conn.band_id, time.time_ns() // 1000))

    async def _commit(self) -> None:
        if not (self._pending or self._dirty or self._events):
            return
        frames, self._pending = self._pending, []
        # a snapshot, receiving goes on (shallow: the only nested value, the HELLO, is never changed)
        states = [copy.copy(s) for s in self._dirty.values()]
        self._dirty = {}
        events, self._events = self._events, []
        statements = self.journal.prepare(frames, states, events)  # here: the disk thread needs no GIL for it
        await asyncio.get_running_loop().run_in_executor(self._disk, self.journal.write, statements)
        now = time.time()
        for f in frames:
            self.ack_latency_s.append(now - f.received_s)
        del self.ack_latency_s[:-100_000]
        durable = {(s.band_id, s.boot_id): s.next_seq for s in states}
        for band_id, conn in list(self.live.items()):
            if conn.stream is None:
                continue
            upto = durable.get((band_id, conn.stream.boot_id))
            if upto is not None and upto > conn.acked:
                conn.acked = upto
                conn.send(p.ack(band_id, conn.stream.boot_id, upto))

    # -- heart rate, phases and rests ------------------------------------------------------------------------------
    async def _process_loop(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self._drain()

    def _drain(self) -> None:
        """The processor's results: decisions become commands to the bands; its status is kept for /status."""
        import queue as queue_module

        _, results, _ = self._processor
        while True:
            try:
                _, taken, status = results.get_nowait()
            except queue_module.Empty:
                return
            self.processing = status
            self._status_tick.set()  # pages following a band look for what is new
            self._status_tick = asyncio.Event()
            for band_id, _boot_id, decision in taken:
                log.info(
                    "band %s: %s at %.1f s: %s",
                    band_id,
                    decision["kind"],
                    decision["t_s"],
                    decision["reason"],
                )
                if decision["kind"] != "rest_over":
                    continue
                hr = round(decision["hr"] or 0)
                frame = p.command(band_id, p.CommandCode.REST_OVER, hr, decision["reason"])
                conn = self.live.get(band_id)
                if conn is not None:
                    conn.send(frame)
                else:
                    self._unsent[band_id] = frame

    # -- status ----------------------------------------------------------------------------------------------------
    def status(self) -> dict:
        bands = {}
        for (band_id, _boot_id), s in sorted(self.streams.items()):
            bands.setdefault(str(band_id), []).append(
                {k: v for k, v in asdict(s).items() if k not in ("band_id", "hello")}
                | {"connected": band_id in self.live and self.live[band_id].stream is s}
            )
        pct = percentiles_ms(self.ack_latency_s)
        return {
            "counters": asdict(self.counters),
            "pending_frames": len(self._pending),
            "ack_latency_ms": pct,  # a frame's receipt to its commit, after which its ACK goes out
            "processing_latency_ms": self.processing.get(
                "latency_ms", {}
            ),  # a frame's receipt to its processing
            "processing": self.processing.get("streams", {}),
            "bands": bands,
        }

    async def _serve_status(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """GET /status (the gateway's health as JSON), /session?band=N (a band's whole session as JSON) and
        /events?band=N (server-sent events: what is new for one band, as soon as it is processed). Plain HTTP/1.0
        answers, open to any origin: the live page is served elsewhere and reads them from the browser."""
        try:
            request = await asyncio.wait_for(reader.readline(), 5.0)
            target = (request.decode("latin-1").split(" ")[1:2] or [""])[0]
            path, _, query = target.partition("?")
            args = dict(q.partition("=")[::2] for q in query.split("&") if q)
            band = args.get("band", "")
            if path in ("/events", "/session") and not band.isdigit():
                await self._answer(writer, 400, {"error": f"{path} needs ?band=N (a band id), got {band!r}"})
            elif path == "/status":
                await self._answer(writer, 200, self.status())
            elif path == "/session":
                from serving.gateway.feed import session_view

                view = await asyncio.get_running_loop().run_in_executor(
                    None, session_view, self.journal_path, int(band)
                )
                await self._answer(writer, 404 if "error" in view else 200, view)
            elif path == "/events":
                await self._events_stream(writer, int(band))
            else:
                await self._answer(writer, 404, {"error": "GET /status, /session?band=N or /events?band=N"})
        except (TimeoutError, ConnectionError, IndexError, UnicodeDecodeError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, code: int, document: dict) -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[code]
        body = json.dumps(document).encode()
        head = (f"HTTP/1.0 {code} {reason}\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
        writer.write(head.encode() + body)
        await writer.drain()

    def _band_stream(self, band_id: int) -> tuple[int | None, float, bool]:
        """(boot id, sample rate, connected) of the stream a page follows: the band's live one, else its newest."""
        conn = self.live.get(band_id)
        if conn is not None and conn.stream is not None:
            state = conn.stream
        else:
            mine = [s for (b, _), s in self.streams.items() if b == band_id]
            state = max(mine, key=lambda s: s.first_seen_s) if mine else None
        if state is None:
            return None, 125.0, False
        return state.boot_id, float(state.hello.get("sample_rate_hz", 125)), conn is not None

    async def _events_stream(self, writer: asyncio.StreamWriter, band_id: int) -> None:
        """Server-sent events for one band until the page goes away; a comment every 15 s keeps proxies open."""
        from serving.gateway.feed import BandFeed

        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Access-Control-Allow-Origin: *\r\n\r\nretry: 1000\n\n")  # fmt: skip
        await writer.drain()
        feed = None
        try:
            while True:
                tick = self._status_tick
                boot_id, fs, connected = self._band_stream(band_id)
                if feed is None and boot_id is not None:
                    feed = BandFeed(self.journal_path, band_id, fs)
                if feed is not None:
                    live = self.processing.get("streams", {}).get(f"{band_id}:{boot_id}")
                    event = feed.poll(boot_id, live, connected)
                    if event is not None:
                        writer.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                        await writer.drain()
                try:
                    await asyncio.wait_for(tick.wait(), 15.0)
                except TimeoutError:
                    writer.write(b": still here\n\n")
                    await writer.drain()
        except (
            sqlite3.Error
        ) as exc:  # the journal could not be read: the page's EventSource reconnects in 1 s
            log.warning(
                "events for band %s: the journal could not be read (%s); the page will reconnect",
                band_id,
                exc,
            )
        finally:
            if feed is not None:
                feed.close()


def fit_clock(samples: list[tuple[float, float, float]]) -> tuple[float, float] | None:
    """(drift in ppm, offset in ms) of a band's clock from (gateway ms, band ms, round trip ms) samples.

    The quicker half of the round trips (the least queueing, so the least error in "halfway") are fitted with a
    straight line, band time -> gateway time; its slope's excess over 1 is the band clock's drift.
    """
    if len(samples) < 4:
        return None
    g, d, rtt = np.array(samples).T
    quick = rtt <= np.median(rtt)
    if quick.sum() < 3 or np.ptp(d[quick]) <= 0:
        return None
    x, y = d[quick] - d[quick][0], g[quick]
    x_mean, y_mean = x.mean(), y.mean()
    # least squares in closed form (np.polyfit's SVD took ten times as long, for 200 bands every 5 s)
    slope = float(((x - x_mean) * (y - y_mean)).sum() / ((x - x_mean) ** 2).sum())
    intercept = y_mean - slope * x_mean
    return round((1.0 / slope - 1.0) * 1e6, 1), round(float(intercept - slope * d[quick][0]), 1)
