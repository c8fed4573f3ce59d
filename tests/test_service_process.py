"""The service's process-level care, without a server: how often the heap is handed back to the system."""

from __future__ import annotations


def test_the_heap_is_trimmed_at_most_once_a_period():
    from serving.service import _heap_trimmer

    t, trims = [0.0], []
    maybe_trim = _heap_trimmer(1.0, trim=lambda: trims.append(t[0]), clock=lambda: t[0])
    for t[0] in (0.0, 0.5, 0.99, 1.0, 1.2, 2.5, 2.6):
        maybe_trim()
    assert trims == [0.0, 1.0, 2.5]
