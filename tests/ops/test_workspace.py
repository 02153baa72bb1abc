import numpy as np

from neuronet.ops import workspace


def test_scratch_reuses_one_buffer_per_purpose_and_grows_it():
    workspace.release()
    small = workspace.scratch("test.a", (2, 3), np.float32)
    again = workspace.scratch("test.a", (3, 2), np.float32)
    other = workspace.scratch("test.b", (2, 3), np.float32)
    wide = workspace.scratch("test.a", (2, 3), np.float64)
    assert small.shape == (2, 3) and again.shape == (3, 2) and wide.dtype == np.float64
    assert np.shares_memory(small, again)
    assert not np.shares_memory(small, other) and not np.shares_memory(small, wide)
    bigger = workspace.scratch("test.a", (40, 5), np.float32)
    assert bigger.shape == (40, 5) and not np.shares_memory(small, bigger)
    assert np.shares_memory(bigger, workspace.scratch("test.a", (2, 3), np.float32))


def test_empty_recycles_a_big_buffer_only_once_no_array_uses_it(monkeypatch):
    monkeypatch.setattr(workspace, "RECYCLE_FROM_BYTES", 1000)
    workspace.release()
    first = workspace.empty((50, 10), np.float32)
    view = first.reshape(-1)[10:]
    del first
    second = workspace.empty((50, 10), np.float32)
    assert not np.shares_memory(view, second)       # a view keeps the buffer in use
    del view
    third = workspace.empty((45, 10), np.float32)   # fits the released buffer
    assert third.shape == (45, 10) and third.dtype == np.float32
    assert not np.shares_memory(third, second)
    del third
    assert np.shares_memory(workspace.empty((50, 10), np.float32), workspace._buffers.results[-1])


def test_empty_leaves_small_arrays_and_other_dtypes_alone(monkeypatch):
    monkeypatch.setattr(workspace, "RECYCLE_FROM_BYTES", 1000)
    workspace.release()
    small = workspace.empty((10,), np.float32)
    assert small.base is None and workspace._buffers.results == []
    big32 = workspace.empty((500,), np.float32)
    del big32
    big64 = workspace.empty((500,), np.float64)
    assert big64.dtype == np.float64 and len(workspace._buffers.results) == 2


def test_empty_keeps_a_bounded_number_of_released_buffers(monkeypatch):
    monkeypatch.setattr(workspace, "RECYCLE_FROM_BYTES", 8)
    workspace.release()
    for size in range(100, 100 + 4 * workspace.KEPT_RESULT_BUFFERS, 3):  # none reusable
        workspace.empty((size * 3,), np.float32)
    assert len(workspace._buffers.results) == workspace.KEPT_RESULT_BUFFERS
    workspace.release()
    assert workspace._buffers.results == []
