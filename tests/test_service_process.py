"""The service's process-level care, without a server: how often the heap is handed back to the system, and the
loaded models kept out of the garbage collector's full passes."""

from __future__ import annotations


def test_the_heap_is_trimmed_at_most_once_a_period():
    from serving.service import _heap_trimmer

    t, trims = [0.0], []
    maybe_trim = _heap_trimmer(1.0, trim=lambda: trims.append(t[0]), clock=lambda: t[0])
    for t[0] in (0.0, 0.5, 0.99, 1.0, 1.2, 2.5, 2.6):
        maybe_trim()
    assert trims == [0.0, 1.0, 2.5]


def test_what_is_loaded_is_frozen_out_of_the_collectors_sight():
    """Objects alive at load time (libraries, models) are frozen; one made afterwards is still collected."""
    import gc
    import weakref

    from serving.service import _freeze_what_is_loaded

    class Node:
        pass

    try:
        _freeze_what_is_loaded()
        assert gc.get_freeze_count() > 0
        later = Node()
        later.cycle = later
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None  # the collector still frees what requests leave behind
    finally:
        gc.unfreeze()
