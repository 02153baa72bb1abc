"""Looking rows up by integer ids: ``embedding`` (torch.nn.functional.embedding's op).

The backward adds each output row's gradient into the row it was read from; an id read
many times (a frequent word) adds many: ``np.add.at``, which accumulates repeated indices
(plain fancy-index assignment would keep only one of them).
"""
from neuronet.backend import xp
from neuronet.ops._utils import as_tensor
from neuronet.tensor import Function, Tensor


class Embedding(Function):
    def forward(self, weight, ids):
        self.save_for_backward(ids)
        self.rows = weight.shape[0]
        return weight[ids]

    def backward(self, gy):
        (ids,) = self.saved
        return embedding_backward(ids, gy, self.rows), None


def embedding_backward(ids, gy, rows):
    """gw[v] = sum of gy[position] over the positions whose id is v."""
    gw = xp.zeros((rows,) + gy.shape[ids.ndim:], dtype=gy.dtype)
    xp.add.at(gw, ids, gy)
    return gw


def check_ids(ids, rows, what="embedding"):
    """``ids`` as an integer array, every one in [0, rows); ValueError naming ``what``, the
    offending value and ``rows`` otherwise."""
    ids = ids.data if isinstance(ids, Tensor) else xp.asarray(ids)
    if ids.dtype.kind not in "iu":
        if ids.size and not xp.all(xp.mod(ids, 1) == 0):
            raise ValueError(f"{what} expects integer ids, got dtype {ids.dtype} with "
                             f"fractional values")
        ids = ids.astype(xp.int64)
    if ids.size:
        low, high = ids.min(), ids.max()
        if low < 0 or high >= rows:
            bad = low if low < 0 else high
            raise ValueError(f"{what} got id {int(bad)}, outside [0, {rows}) "
                             f"(input_dim {rows})")
    return ids


def embedding(ids, weight):
    """Rows of ``weight`` picked by integer ``ids`` (torch.nn.functional.embedding's order
    of arguments).

    y[..., :] = weight[ids[...], :];  dy/dweight: gw[v] = sum of gy[p] over the positions p
    with ids[p] = v (an id read twice gets both gradients); the ids get none.

    Shape:
        ids (any shape), weight (rows, dim) -> ids.shape + (dim,).

    Example:
        >>> embedding([[1, 0, 1]], weight).shape   # weight of shape (10, 4)
        (1, 3, 4)
    """
    weight = as_tensor(weight)
    if weight.ndim < 1:
        raise ValueError(f"embedding expects a weight of shape (rows, dim), got shape "
                         f"{weight.shape}")
    return Embedding.apply(weight, check_ids(ids, weight.shape[0]))
