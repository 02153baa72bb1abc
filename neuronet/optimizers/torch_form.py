"""Optimizers made the PyTorch way: ``SGD(model.parameters(), lr=0.1, momentum=0.9)``.

One rule, applied by every optimizer class (``Optimizer``'s metaclass):

- **PyTorch form** (parameters first): PyTorch's argument names (``lr``, ``eps``, ``betas``,
  ``alpha`` for RMSprop's ``rho``; ``momentum``, ``weight_decay``, ``nesterov``,
  ``amsgrad``, ... are the same in both) and PyTorch's defaults (the class's
  ``torch_defaults``), so a ported PyTorch script gives PyTorch's numbers. Keras' names are
  accepted too. The optimizer keeps the parameters: ``step()`` and ``zero_grad()`` take
  no arguments. ``lr`` may also come second, as in ``torch.optim.SGD(params, 0.1)``.
- **Keras form** (no parameters): Keras' names and defaults only. ``lr=`` raises a
  TypeError that names ``learning_rate`` (Keras 3 removed ``lr`` too).

Parameter groups (dicts with their own learning rates) are not supported.
"""
import inspect

from neuronet.backend import xp
from neuronet.tensor import Tensor

# PyTorch's names that differ from Keras' in every optimizer (``betas`` is split in two).
TORCH_NAMES = {"lr": "learning_rate", "eps": "epsilon"}


class TorchForm(type):
    """The metaclass of ``Optimizer``: routes the PyTorch form (see the module docstring)."""

    def __call__(cls, *args, **kwargs):
        if args and _is_parameters(args[0]):
            return cls._from_torch_form(*args, **kwargs)
        if "lr" in kwargs:
            raise TypeError(f"{cls.__name__}: unknown argument 'lr': use learning_rate= (Keras' "
                            f"name), or pass the parameters first for PyTorch's names: "
                            f"{cls.__name__}(model.parameters(), lr=...)")
        return super().__call__(*args, **kwargs)

    def _from_torch_form(cls, params, *args, **torch_kwargs):
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}(params, lr, ...): give the arguments after lr "
                            f"by name, got {len(args) + 1} positional arguments")
        if args:
            torch_kwargs["lr"] = args[0]
        params = as_param_list(params, cls.__name__)
        if not params:
            raise ValueError(f"{cls.__name__}: got an empty parameter list: build the model "
                             "before making its optimizer (model.build(input_shape), a first "
                             "call on data, or input_shape= on its first layer)")
        optimizer = super().__call__(**cls._keras_arguments(torch_kwargs))
        optimizer.build(params)
        optimizer.params = params
        return optimizer

    def _keras_arguments(cls, torch_kwargs):
        """PyTorch's names and defaults as the arguments of the class's ``__init__``."""
        keras_names = set(inspect.signature(cls.__init__).parameters) - {"self"}
        renames = {**TORCH_NAMES, **cls.torch_names}
        kwargs = dict(cls.torch_defaults)
        for name, value in torch_kwargs.items():
            if name == "betas" and {"beta_1", "beta_2"} <= keras_names:
                kwargs["beta_1"], kwargs["beta_2"] = value
            elif renames.get(name) in keras_names:
                kwargs[renames[name]] = value
            elif name in keras_names:
                kwargs[name] = value
            else:
                accepted = sorted(n for n in renames if renames[n] in keras_names)
                accepted += ["betas"] if {"beta_1", "beta_2"} <= keras_names else []
                raise TypeError(f"{cls.__name__}: unknown argument {name!r}; the PyTorch "
                                f"form takes {sorted(accepted)} and Keras' names "
                                f"{sorted(keras_names)}")
        return kwargs


def _is_parameters(value):
    """Whether a first argument is parameters (a Tensor or an iterable of them), not a
    learning rate (a number or a schedule)."""
    if isinstance(value, Tensor):
        return True
    return hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict, xp.ndarray))


def as_param_list(params, owner):
    """``params`` (a Tensor or an iterable of Tensors) as a list, checked."""
    params = [params] if isinstance(params, Tensor) else list(params)
    for position, param in enumerate(params):
        if isinstance(param, dict):
            raise TypeError(f"{owner}: parameter groups (dicts, at position {position}) are "
                            "not supported: one set of hyperparameters for all parameters")
        if not isinstance(param, Tensor):
            raise TypeError(f"{owner} expects a list of neuronet Tensors, got "
                            f"{type(param).__name__} at position {position}")
    return params
