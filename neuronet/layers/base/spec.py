"""``InputSpec``: what a layer accepts, checked at each call."""


class InputSpec:
    """What a layer accepts: an exact rank (``ndim``) or a minimum one (``min_ndim``),
    and sizes of some axes (``axes = {axis: size}``). ``layout`` names the axes in
    messages, e.g. '(batch, height, width, channels)'."""

    def __init__(self, ndim=None, min_ndim=None, axes=None, layout=""):
        self.ndim, self.min_ndim, self.layout = ndim, min_ndim, layout
        self.axes = {a: n for a, n in (axes or {}).items() if n is not None}

    def check(self, layer, shape):
        """Raise ValueError naming the layer, the expected and the actual shape. A size
        None (a symbolic tensor's unknown size) fits any expected size."""
        layout = f" {self.layout}" if self.layout else ""
        if self.ndim is not None and len(shape) != self.ndim:
            raise ValueError(f"{layer.describe()} expects {self.ndim}-D input{layout}, "
                             f"got shape {shape}")
        if self.min_ndim is not None and len(shape) < self.min_ndim:
            raise ValueError(f"{layer.describe()} expects input of at least {self.min_ndim} "
                             f"dimensions{layout}, got shape {shape}")
        for axis, size in self.axes.items():
            if len(shape) <= axis or len(shape) < -axis or shape[axis] not in (size, None):
                where = "last dimension" if axis == -1 else f"dimension {axis} of size"
                raise ValueError(f"{layer.describe()} expects inputs with {where} {size}, "
                                 f"got shape {shape}")
