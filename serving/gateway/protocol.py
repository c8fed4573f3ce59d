"""Wristband protocol v1: binary frames, COBS-framed, CRC-checked (`docs/wristband_protocol.md`).

A frame on the wire is COBS(header + payload + CRC-32) followed by one 0x00 byte, so a reader that meets corrupt
bytes drops at most the frame they hit and resynchronises on the next 0x00. The header says the version, the
frame type, flags, the band, a sample sequence number and the device's clock; the CRC (CRC-32/ISO-HDLC, as
zlib's) covers header and payload. Unknown versions and frame types are refused with a reason, never misread.
The same encoding is implemented in C in `firmware/`; `docs/wristband_vectors.json` holds test vectors for both.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

VERSION = 1
HEADER = struct.Struct("<BBHIIIH")  # version, type, flags, band_id, seq, device_ms, count
CRC = struct.Struct("<I")
#: PPG red and IR as unsigned 24-bit (the MAX3010x gives 18 bits), acceleration as 3 x int16
SAMPLE_BYTES = 12
MAX_SAMPLES_PER_FRAME = 64
MAX_REASON_BYTES = 96
#: the largest decoded frame any type can make: a full samples frame
MAX_FRAME_BYTES = HEADER.size + MAX_SAMPLES_PER_FRAME * SAMPLE_BYTES + CRC.size
#: and on the wire, with COBS's worst-case overhead and the delimiter
MAX_WIRE_BYTES = MAX_FRAME_BYTES + MAX_FRAME_BYTES // 254 + 2


class FrameType(IntEnum):
    HELLO = 1  # band -> gateway: who it is and how it samples
    SAMPLES = 2  # band -> gateway: N consecutive samples from `seq`
    ACK = 3  # gateway -> band: every sample below `seq` is stored (cumulative)
    TIME_SYNC = 4  # gateway -> band, echoed back with the band's clock
    EVENT = 5  # band -> gateway: a button press, or samples the band had to drop
    COMMAND = 6  # gateway -> band: rest over, vibrate
    BYE = 7  # either way: the sender closes on purpose
    ERROR = 8  # gateway -> band: why it refuses (then it closes)


class Flag(IntEnum):
    GAP_BEFORE = 1  # SAMPLES: the samples between the previous frame and this one are lost for good
    FIFO_OVERFLOW = 2  # SAMPLES: the sensor's FIFO overflowed before this frame (the gap is the sensor's)
    RESENT = 4  # SAMPLES: a retransmission after a reconnect or a RESEND
    RESEND = 8  # ACK: the gateway saw a hole; resend from `seq`


class EventCode(IntEnum):
    SET_START = 1
    SET_END = 2
    SAMPLES_DROPPED = 3  # the band's buffer overflowed: `arg` samples from `seq` are gone


class CommandCode(IntEnum):
    REST_OVER = 1  # arg: the HR (bpm) the rest ended at, 0 when unknown
    VIBRATE = 2  # arg: milliseconds


class ProtocolError(ValueError):
    """A frame that cannot be read as protocol v1; the message says what is wrong with it."""


@dataclass(frozen=True)
class Hello:
    firmware: int  # major << 8 | minor
    sample_rate_hz: int
    boot_id: int  # new at every boot: the band's sequence numbers restart with it
    acc_lsb_per_g: int  # accelerometer scale: counts per g
    ppg_pulse_width_us: int
    ppg_adc_range_na: int

    STRUCT = struct.Struct("<HHIHHH")


@dataclass(frozen=True)
class Frame:
    type: FrameType
    band_id: int
    seq: int = 0
    device_ms: int = 0
    flags: int = 0
    payload: bytes = b""
    count: int = 0  # samples in a SAMPLES frame

    # -- typed views of the payload --------------------------------------------------------------------------
    def hello(self) -> Hello:
        if len(self.payload) != Hello.STRUCT.size:
            raise ProtocolError(f"HELLO payload is {Hello.STRUCT.size} bytes, got {len(self.payload)}")
        return Hello(*Hello.STRUCT.unpack(self.payload))

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """(2, n) PPG (red, IR) and (3, n) acceleration counts."""
        raw = np.frombuffer(self.payload, dtype=np.uint8).reshape(self.count, SAMPLE_BYTES)
        u24 = raw[:, :6].reshape(self.count, 2, 3).astype(np.uint32)
        ppg = (u24[..., 0] | (u24[..., 1] << 8) | (u24[..., 2] << 16)).T
        acc = raw[:, 6:].copy().view("<i2").T
        return ppg, acc

    def ack_boot(self) -> int:
        return struct.unpack("<I", self.payload)[0]

    def event(self) -> tuple[EventCode, int]:
        code, arg = struct.unpack("<BI", self.payload)
        return EventCode(code), arg

    def command(self) -> tuple[CommandCode, int, str]:
        code, arg = struct.unpack_from("<BH", self.payload)
        return CommandCode(code), arg, self.payload[3:].decode("utf-8", "replace")

    def time_sync(self) -> int:
        """The gateway's clock (microseconds) that the band echoes."""
        return struct.unpack("<Q", self.payload)[0]

    def reason(self) -> str:
        return self.payload.decode("utf-8", "replace")


# -- constructors ---------------------------------------------------------------------------------------------------
def hello(band_id: int, info: Hello, device_ms: int = 0) -> Frame:
    return Frame(FrameType.HELLO, band_id, 0, device_ms, 0, Hello.STRUCT.pack(*info.__dict__.values()))


def samples(
    band_id: int, seq: int, device_ms: int, ppg: np.ndarray, acc: np.ndarray, flags: int = 0
) -> Frame:
    """A SAMPLES frame of (2, n) PPG counts (0 .. 2**24-1) and (3, n) int16 acceleration counts."""
    ppg, acc = np.asarray(ppg), np.asarray(acc)
    n = ppg.shape[1]
    if not 0 < n <= MAX_SAMPLES_PER_FRAME or acc.shape != (3, n) or ppg.shape != (2, n):
        raise ProtocolError(
            f"a SAMPLES frame holds 1-{MAX_SAMPLES_PER_FRAME} samples of 2 PPG and 3 acc values"
        )
    if ppg.min() < 0 or ppg.max() >= 1 << 24:
        raise ProtocolError("PPG counts are unsigned 24-bit")
    if acc.min() < -(1 << 15) or acc.max() >= 1 << 15:
        raise ProtocolError("acceleration counts are int16")
    raw = np.empty((n, SAMPLE_BYTES), dtype=np.uint8)
    p = ppg.T.astype(np.uint32)
    for k in range(3):
        raw[:, k] = (p[:, 0] >> (8 * k)) & 0xFF
        raw[:, 3 + k] = (p[:, 1] >> (8 * k)) & 0xFF
    raw[:, 6:] = np.ascontiguousarray(acc.T, dtype="<i2").view(np.uint8).reshape(n, 6)
    return Frame(FrameType.SAMPLES, band_id, seq, device_ms, flags, raw.tobytes(), n)


def ack(band_id: int, boot_id: int, next_seq: int, resend: bool = False) -> Frame:
    return Frame(
        FrameType.ACK, band_id, next_seq, 0, Flag.RESEND if resend else 0, struct.pack("<I", boot_id)
    )


def event(band_id: int, seq: int, device_ms: int, code: EventCode, arg: int = 0) -> Frame:
    return Frame(FrameType.EVENT, band_id, seq, device_ms, 0, struct.pack("<BI", code, arg))


def command(band_id: int, code: CommandCode, arg: int = 0, reason: str = "") -> Frame:
    text = reason.encode("utf-8")[:MAX_REASON_BYTES]
    return Frame(FrameType.COMMAND, band_id, 0, 0, 0, struct.pack("<BH", code, arg) + text)


def time_sync(band_id: int, gateway_us: int, device_ms: int = 0) -> Frame:
    return Frame(FrameType.TIME_SYNC, band_id, 0, device_ms, 0, struct.pack("<Q", gateway_us))


def bye(band_id: int) -> Frame:
    return Frame(FrameType.BYE, band_id)


def error(band_id: int, reason: str) -> Frame:
    return Frame(FrameType.ERROR, band_id, payload=reason.encode("utf-8")[:MAX_REASON_BYTES])


# -- bytes ----------------------------------------------------------------------------------------------------------
_PAYLOAD_SIZES = {
    FrameType.HELLO: {Hello.STRUCT.size},
    FrameType.ACK: {4},
    FrameType.TIME_SYNC: {8},
    FrameType.EVENT: {5},
    FrameType.BYE: {0},
}


def encode(frame: Frame) -> bytes:
    """The frame as it goes on the wire: COBS-encoded, CRC included, 0x00-terminated."""
    header = HEADER.pack(
        VERSION, frame.type, frame.flags, frame.band_id, frame.seq & 0xFFFFFFFF, frame.device_ms & 0xFFFFFFFF,
        frame.count,
    )  # fmt: skip
    body = header + frame.payload
    return cobs_encode(body + CRC.pack(zlib.crc32(body))) + b"\x00"


def decode(raw: bytes) -> Frame:
    """One frame from its COBS-decoded bytes (no delimiter); ProtocolError naming what is wrong otherwise."""
    if len(raw) < HEADER.size + CRC.size:
        raise ProtocolError(f"frame of {len(raw)} bytes is shorter than a header and CRC")
    body, (crc,) = raw[:-4], CRC.unpack(raw[-4:])
    if zlib.crc32(body) != crc:
        raise ProtocolError("CRC mismatch")
    version, kind, flags, band_id, seq, device_ms, count = HEADER.unpack_from(body)
    if version != VERSION:
        raise ProtocolError(f"protocol version {version} is not supported (this gateway speaks {VERSION})")
    try:
        kind = FrameType(kind)
    except ValueError:
        raise ProtocolError(f"unknown frame type {kind}") from None
    payload = bytes(body[HEADER.size :])
    if kind is FrameType.SAMPLES:
        if not 0 < count <= MAX_SAMPLES_PER_FRAME or len(payload) != count * SAMPLE_BYTES:
            raise ProtocolError(f"SAMPLES frame says {count} samples but holds {len(payload)} bytes")
    elif count:
        raise ProtocolError(f"{kind.name} frame with a sample count")
    elif kind in _PAYLOAD_SIZES and len(payload) not in _PAYLOAD_SIZES[kind]:
        raise ProtocolError(f"{kind.name} payload of {len(payload)} bytes")
    elif kind is FrameType.COMMAND and not 3 <= len(payload) <= 3 + MAX_REASON_BYTES:
        raise ProtocolError(f"COMMAND payload of {len(payload)} bytes")
    elif kind is FrameType.ERROR and len(payload) > MAX_REASON_BYTES:
        raise ProtocolError(f"ERROR reason of {len(payload)} bytes")
    return Frame(kind, band_id, seq, device_ms, flags, payload, count)


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the output holds no 0x00, so 0x00 can end a frame.

    Each block is a code byte k and k-1 data bytes; k < 0xFF implies a zero after them (except at the end).
    """
    out = bytearray()
    for part in data.split(b"\x00"):
        while len(part) >= 254:
            out += b"\xff" + part[:254]
            part = part[254:]
        out.append(len(part) + 1)
        out += part
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise ProtocolError("COBS: a zero byte inside a frame")
        end = i + code
        if end > n:
            raise ProtocolError("COBS: a block runs past the end of the frame")
        out += data[i + 1 : end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


@dataclass
class FrameReader:
    """Bytes in, frames out: splits on 0x00, decodes, and counts what it had to throw away.

    A run of bytes longer than any frame without a delimiter (garbage, an absurd length) is dropped as it
    arrives, so a reader's memory stays bounded whatever it is fed.
    """

    corrupt: int = 0  # frames dropped: bad COBS, bad CRC, too long, malformed
    refused: list[str] = field(default_factory=list)  # reasons of the last few (newest last)
    _pending: bytearray = field(default_factory=bytearray)
    _overlong: bool = False

    def feed(self, data: bytes) -> list[Frame]:
        frames = []
        chunks = (bytes(self._pending) + data).split(b"\x00")
        self._pending = bytearray(chunks.pop())
        for chunk in chunks:
            if self._overlong:
                self._overlong = False
                self._reject("a frame longer than any valid one")
                continue
            if not chunk:
                continue  # back-to-back delimiters: nothing lost
            try:
                frames.append(decode(cobs_decode(chunk)))
            except ProtocolError as exc:
                self._reject(str(exc))
        if len(self._pending) > MAX_WIRE_BYTES:
            self._pending.clear()
            self._overlong = True
        return frames

    def _reject(self, reason: str) -> None:
        self.corrupt += 1
        self.refused = [*self.refused[-9:], reason]


# -- test vectors shared with the firmware ------------------------------------------------------------------------
VECTORS_PATH = "docs/wristband_vectors.json"


def vectors() -> list[dict]:
    """One frame of each type, with every header field and the exact wire bytes (hex): the C encoder must produce
    these bytes and the C decoder must read these fields (`firmware/`), as `tests/test_gateway.py` checks here."""
    ppg = np.array([[0, 1, 131072, 262143], [0x0A0B0C, 0x00FF00, 7, 16777215]], dtype=np.uint32)
    acc = np.array([[0, -1, 8192, -32768], [32767, 1, -8192, 0], [256, -256, 1, 2]], dtype=np.int16)
    info = Hello(0x0102, 125, 0xDEADBEEF, 8192, 411, 16384)
    frames = {
        "hello": hello(7, info, device_ms=1000),
        "samples": samples(7, 1_000_000, 123_456, ppg, acc, Flag.GAP_BEFORE | Flag.FIFO_OVERFLOW),
        "samples_with_zero_bytes": samples(0, 0, 0, np.zeros((2, 1), np.uint32), np.zeros((3, 1), np.int16)),
        "ack": ack(7, 0xDEADBEEF, 1_000_004),
        "ack_resend": ack(7, 0xDEADBEEF, 999_000, resend=True),
        "time_sync": time_sync(7, 1_795_000_000_123_456, device_ms=4_000_000_000),
        "event_set_end": event(7, 1_000_100, 130_000, EventCode.SET_END),
        "event_samples_dropped": event(7, 2_000, 16_000, EventCode.SAMPLES_DROPPED, 250),
        "command_rest_over": command(7, CommandCode.REST_OVER, 112, "HR 112 <= target 115 for 3 readings"),
        "bye": bye(7),
        "error": error(7, "protocol version 2 is not supported (this gateway speaks 1)"),
    }
    out = []
    for name, f in frames.items():
        out.append(
            {
                "name": name,
                "type": f.type.name,
                "band_id": f.band_id,
                "seq": f.seq,
                "device_ms": f.device_ms,
                "flags": f.flags,
                "count": f.count,
                "payload_hex": f.payload.hex(),
                "wire_hex": encode(f).hex(),
            }
        )
    return out


def write_vectors(root: str | None = None) -> str:
    """Regenerate the shared vectors (only when the protocol changes on purpose; its version goes up with it)."""
    import json
    from pathlib import Path

    path = Path(root or Path(__file__).resolve().parents[2]) / VECTORS_PATH
    path.write_text(json.dumps({"protocol_version": VERSION, "vectors": vectors()}, indent=1) + "\n")
    return str(path)
