"""The optimizer base class: validation, per-parameter state, clipping and the loop."""
import math
import numbers

from neuronet import execution
from neuronet.backend import xp
from neuronet.optimizers import schedules
from neuronet.optimizers.torch_form import TorchForm, as_param_list


class Optimizer(metaclass=TorchForm):
    """Base class: validation, per-parameter state, gradient clipping and the loop.

    Args:
        learning_rate: step size ``lr``: a number (settable between steps), or a
            ``schedules.LearningRateSchedule``, whose value at ``iterations`` (the steps
            done) is the rate of the next step.
        weight_decay: L2 coefficient ``wd``; the gradient becomes ``g + wd * p``
            (coupled, as in ``torch.optim``; AdamW decouples it).
        clipnorm: if set, each parameter's gradient is rescaled to at most this
            L2 norm before anything else: ``g * clipnorm / max(||g||, clipnorm)``.
        epsilon: small constant that keeps divisions finite.

    Each step, for every parameter ``p`` with a gradient: clip, add weight decay,
    then ``update(p, g, state)`` in place. Parameters without a gradient are
    skipped and their step count does not advance (as in ``torch.optim``).

    Made the PyTorch way, ``SGD(model.parameters(), lr=0.1)`` (PyTorch's names and
    defaults, see ``neuronet.optimizers.torch_form``), the optimizer keeps the parameters
    in ``params`` and ``step()``/``zero_grad()`` take no arguments.
    """

    name = "optimizer"
    params = None  # the parameters given at construction (the PyTorch form)
    torch_names = {}  # PyTorch's argument names that this class spells otherwise
    torch_defaults = {}  # PyTorch's defaults where they differ from Keras'

    def __init__(self, learning_rate, weight_decay=0.0, clipnorm=None, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.weight_decay = self._checked("weight_decay value", weight_decay, 0.0)
        self.clipnorm = None if clipnorm is None else self._checked(
            "clipnorm value", clipnorm, 0.0, open_low=True)
        self.epsilon = self._checked("epsilon value", epsilon, 0.0)
        self.iterations = 0
        self._params, self._states, self._index = [], [], {}
        self._pending_slots = None

    _schedule = None

    @property
    def learning_rate(self):
        """The rate of the next step: the number, or the schedule's value now."""
        if self._schedule is not None:
            return self._checked("learning rate", self._schedule(self.iterations), 0.0)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule):
            self._schedule = value
            return
        if self._schedule is not None:
            raise TypeError(f"{type(self).__name__} was made with a learning rate schedule "
                            f"({type(self._schedule).__name__}), so its learning rate cannot "
                            "be set (Keras neither)")
        # Stored as a Python float so that float32 updates never upcast.
        self._learning_rate = self._checked("learning rate", value, 0.0)

    def _checked(self, what, value, low, high=math.inf, open_low=False, open_high=False):
        """``float(value)`` if it is a number within the bounds, else a ValueError."""
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        above = is_number and (value > low if open_low else value >= low)
        below = is_number and (value < high if open_high else value <= high)
        if not (above and below):
            opening = "(" if open_low else "["
            closing = ")" if open_high or high == math.inf else "]"
            bounds = f"{opening}{low:g}, {high:g}{closing}"
            raise ValueError(f"{type(self).__name__}: Invalid {what}: {value!r} "
                             f"(expected a number in {bounds})")
        return float(value)

    # --- state -------------------------------------------------------------
    def create_slots(self, param):
        """The named state arrays of one parameter array (none for plain SGD)."""
        return {}

    def build(self, params):
        """Register the parameters not seen before, in order, and create their state."""
        unseen = {}
        for param in as_param_list(params, type(self).__name__):
            if id(param) not in self._index:
                unseen.setdefault(id(param), param)
        new = list(unseen.values())
        if self._pending_slots is not None and new:
            states = self._restored_states([p.data for p in new], self._pending_slots)
            self._pending_slots = None
        else:
            states = [self._fresh_state(p.data) for p in new]
        for param, state in zip(new, states):
            self._index[id(param)] = len(self._params)
            self._params.append(param)
            self._states.append(state)

    def _fresh_state(self, param):
        return {"step": 0, **self.create_slots(param)}

    def state_dict(self):
        """``{"iterations": int, "slots": [{slot_name: array, "step": 0-d int64}, ...]}``.

        One dict per registered parameter, in registration order; arrays are
        copies, so the dict can be saved (safetensors + JSON) while training goes on.
        A number of the state (see ``advance``) is saved as a 0-d float64 array.
        """
        slots = []
        for state in self._states:
            arrays = {name: _saved(value) for name, value in state.items() if name != "step"}
            arrays["step"] = xp.asarray(state["step"], dtype=xp.int64)
            slots.append(arrays)
        return {"iterations": self.iterations, "slots": slots}

    def load_state_dict(self, state_dict):
        """Restore ``state_dict()``; before any step, the slots wait for the next build."""
        slots = list(state_dict["slots"])
        if self._params:
            self._states = self._restored_states([p.data for p in self._params], slots)
        else:
            self._pending_slots = slots
        self.iterations = int(state_dict["iterations"])

    def _restored_states(self, params, saved_slots):
        name = type(self).__name__
        if len(saved_slots) != len(params):
            raise ValueError(f"{name}: the state holds slots for {len(saved_slots)} "
                             f"parameters, expected {len(params)}")
        return [self._restored_state(param, saved, i)
                for i, (param, saved) in enumerate(zip(params, saved_slots))]

    def _restored_state(self, param, saved, index):
        name = type(self).__name__
        expected = self._fresh_state(param)
        if set(saved) != set(expected):
            raise ValueError(f"{name}: parameter {index} expects slots {sorted(expected)}, "
                             f"got {sorted(saved)}")
        state = {"step": int(xp.asarray(saved["step"]).item())}  # safetensors stores 0-d as (1,)
        for slot in expected:
            if slot == "step":
                continue
            array = xp.asarray(saved[slot])
            if isinstance(expected[slot], float):
                state[slot] = float(array.item())
                continue
            if array.shape != param.shape:
                raise ValueError(f"{name}: slot '{slot}' of parameter {index} expects shape "
                                 f"{param.shape}, got {array.shape}")
            # C order whatever the saved array's: the updates may work on flat views of it.
            state[slot] = xp.array(array, dtype=param.dtype, order="C")
        return state

    # --- the loop ----------------------------------------------------------
    def step(self, params=None):
        """Update every Tensor in ``params`` in place from its ``.grad`` (None: skipped);
        without ``params``, the ones given at construction.

        ``neuronet.execution.run_updates`` runs the updates: by ``update_each`` or, with the
        accelerator on, by the kernels ``fused`` names; whole, or in a model's training
        step split over threads (the same bits either way).
        """
        params = self._given(params, "step")
        self.build(params)
        updates = []
        for param in params:
            if param.grad is None:
                continue
            if param.grad.shape != param.shape:
                raise ValueError(f"{type(self).__name__}: a parameter of shape {param.shape} "
                                 f"has a gradient of shape {param.grad.shape}")
            state = self._states[self._index[id(param)]]
            state["step"] += 1
            self.advance(state)
            grad = self.clip_gradient(param.data, param.grad.data)
            grad = self.apply_weight_decay(param.data, grad)
            updates.append((param.data, grad, state))
        execution.run_updates(self, updates)
        self.iterations += 1

    def update_each(self, updates):
        """The reference loop: ``update(param, grad, state)`` for each update in turn."""
        for param, grad, state in updates:
            self.update(param, grad, state)

    def zero_grad(self, params=None, set_to_none=True):
        """Set every parameter's ``.grad`` to None (``set_to_none=False``: to zeros);
        without ``params``, the ones given at construction."""
        for param in self._given(params, "zero_grad"):
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.zero_()

    def _given(self, params, method):
        if params is not None:
            return as_param_list(params, type(self).__name__)
        if self.params is None:
            name = type(self).__name__
            raise TypeError(f"{name}.{method}() needs the parameters: pass them "
                            f"({method}(model.trainable_weights)), or make the optimizer with "
                            f"them first: {name}(model.parameters(), lr=...)")
        return self.params

    def clip_gradient(self, param, grad):
        """``g * clipnorm / ||g||`` when ``||g|| > clipnorm`` (Keras' clipnorm), else ``g``."""
        if self.clipnorm is None:
            return grad
        norm = math.sqrt(float(xp.vdot(grad, grad)))
        if norm <= self.clipnorm:
            return grad
        return grad * (self.clipnorm / norm)

    def apply_weight_decay(self, param, grad):
        """Coupled L2: ``g + wd * p`` (a new array: ``param.grad`` is left alone)."""
        if not self.weight_decay:
            return grad
        decayed = param * self.weight_decay
        decayed += grad
        return decayed

    def advance(self, state):
        """Update the state's numbers (not arrays) once per step, before ``update``: the
        updates may run in pieces (``execution.run_updates``), each reading them. None here;
        Nadam keeps its product of momentum coefficients this way."""

    def update(self, param, grad, state):
        """Change ``param`` (an array) in place from ``grad`` and ``state``."""
        raise NotImplementedError

    def fused(self, param, grad, state):
        """This ``update`` as a fused kernel of ``neuronet.accelerator``: (the kernel's
        name, the arrays it reads and updates in place, the step's scalars), the same bits
        as ``update``; None where no kernel computes it (here: none)."""
        return None

    # --- config ------------------------------------------------------------
    def get_config(self):
        """The hyperparameters as a JSON-able dict, with the registry ``name``."""
        learning_rate = (self.learning_rate if self._schedule is None
                         else schedules.serialize(self._schedule))
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm}

    @classmethod
    def from_config(cls, config):
        """``Adam.from_config(adam.get_config())`` makes an equal optimizer.

        To let the config's ``name`` pick the class, use ``optimizers.deserialize``.
        """
        config = dict(config)
        config.pop("name", None)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)


def _saved(value):
    """A copy of a state entry as an array: a number of the state as 0-d float64."""
    if isinstance(value, float):
        return xp.asarray(value, dtype=xp.float64)
    return value.copy()
