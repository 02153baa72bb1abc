"""``Function``: one node of the tape, a differentiable op's forward and backward."""
from neuronet.tensor.core import Tensor
from neuronet.tensor.grad_mode import grad_state


class Function:
    """One node of the tape.

    Subclasses write ``forward(self, *arrays, **params) -> array`` and
    ``backward(self, gy) -> gradient or tuple of gradients`` (one per input,
    ``None`` where no gradient is needed). Arrays that backward needs are kept
    with ``save_for_backward`` so the engine can free them afterwards.
    ``self.needs_input_grad`` tells forward and backward which gradients are wanted.
    """

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays; record the node if a gradient is needed.

        ``needs_input_grad`` is set before forward (all False under ``no_grad``), so
        forward can skip work that only backward would use.
        """
        fn = cls()
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        fn.saved = ()
        recording = grad_state.enabled
        fn.needs_input_grad = tuple(recording and isinstance(x, Tensor) and x.requires_grad
                                    for x in inputs)
        output = fn.forward(*arrays, **params)
        if any(fn.needs_input_grad):
            fn.inputs = inputs
            fn.released = False
            return Tensor._from_op(output, fn)
        return Tensor._from_op(output, None)
