"""``Layer``: config in ``__init__``, weights in ``build``, math in ``call``; and the
registry that turns ``{"class_name": ..., "config": ...}`` back into layers.

One idea a module: ``layer`` (the class, its building, losses and config), ``calling``
(``__call__`` and the ``training`` mode of nested calls), ``weights`` (``add_weight``
and the weight lists), ``spec`` (``InputSpec``), ``naming`` (default layer names) and
``serialization`` (the registry). The classes, functions and tables the former
``neuronet/layers/base.py`` defined are importable from here (the entry layer of the call
running now, ``_entry_layer``, is state of ``calling`` alone)."""
from neuronet.layers.base.calling import (_ACCEPTS, _batchless, _call_accepts, _call_mode,
                                          _CallMode, call_mode, current_training)
from neuronet.layers.base.layer import Layer, _marking_built, layers_in_attributes
from neuronet.layers.base.naming import _name_counts, _snake_case, unique_name
from neuronet.layers.base.serialization import LAYERS, deserialize, get, register, serialize
from neuronet.layers.base.spec import InputSpec
from neuronet.layers.base.weights import _POSITIONAL_FORM, without_repeats
