"""The service's heart-rate stream state (`serving.streams.StreamStore`): replicas on one file, a rejected chunk, and
a killed process."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from serving.streams import StreamStore


def _append(value: int):
    def step(state: list) -> int:
        state.append(value)
        return len(state)

    return step


def test_two_replicas_on_one_file_continue_each_others_streams(tmp_path):
    first, second = StreamStore(tmp_path / "s.sqlite"), StreamStore(tmp_path / "s.sqlite")
    for k in range(6):
        (first if k % 2 == 0 else second).update("band", list, _append(k))
    assert first.update("band", list, lambda s: list(s)) == [0, 1, 2, 3, 4, 5]


def test_a_rejected_chunk_leaves_the_stream_as_it_was(tmp_path):
    store = StreamStore(tmp_path / "s.sqlite")
    store.update("band", list, _append(1))

    def reject(state: list) -> None:
        state.append(99)
        raise ValueError("the stream jumped backwards")

    with pytest.raises(ValueError, match="backwards"):
        store.update("band", list, reject)
    assert store.update("band", list, _append(2)) == 2  # [1, 2]: the 99 was never saved
    store.drop("band")
    assert store.update("band", list, _append(3)) == 1


def test_what_a_killed_process_committed_is_kept(tmp_path):
    """SIGKILL right after a chunk's answer: the WAL, synced only at checkpoints, still holds the chunk."""
    child = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from serving.streams import StreamStore
        store = StreamStore({str(tmp_path / "s.sqlite")!r})
        for k in range(50):
            store.update("band", list, lambda s, k=k: s.append(k))
        print("answered", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and "answered" in proc.stdout, proc.stderr
    assert StreamStore(tmp_path / "s.sqlite").update("band", list, lambda s: list(s)) == list(range(50))


def test_each_thread_gets_its_own_connection(tmp_path):
    """Large chunks run off the event loop, in worker threads: a connection made in one thread is never used in
    another (sqlite3 refuses that)."""
    from concurrent.futures import ThreadPoolExecutor

    store = StreamStore(tmp_path / "s.sqlite")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda k: store.update(f"band-{k % 3}", list, _append(k)), range(30)))
    assert sum(store.update(f"band-{b}", list, len) for b in range(3)) == 30


def _append_many(path: str, start: int, n: int) -> None:
    store = StreamStore(path)
    for k in range(start, start + n):
        store.update("band", list, _append(k))
        store.update(f"own-{start}", list, _append(k))


def test_two_worker_processes_writing_at_once_lose_nothing(tmp_path):
    """The service's two workers update one store at the same moments, in turn through the store's file lock:
    every chunk of the shared stream is kept, each process's in its order, and each process's own stream whole."""
    import multiprocessing

    path = str(tmp_path / "s.sqlite")
    StreamStore(path)  # the file and its table, made once
    # spawned, as the service's workers are started: a fork would copy this process's threads' locks (the
    # earlier stores' checkpoint threads) and could hang
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_append_many, args=(path, start, 150)) for start in (0, 1000)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = StreamStore(path)
    shared = store.update("band", list, lambda s: list(s))
    assert sorted(shared) == [*range(150), *range(1000, 1150)]
    assert [v for v in shared if v < 1000] == list(range(150))
    assert [v for v in shared if v >= 1000] == list(range(1000, 1150))
    assert store.update("own-1000", list, lambda s: list(s)) == list(range(1000, 1150))
