"""``Functional``: the model ``Model(inputs, outputs)`` of a graph of layers.

Calling layers on ``Input``s records nodes (``neuronet.layers.node``); the model keeps
the nodes between its inputs and its outputs, found once at construction, in an order
they can run in (each after the nodes it reads from). Calling the
model on data walks that list (as its plan says: ``neuronet.execution``);
``get_config`` writes it, in Keras' form: each layer with its ``inbound_nodes``, then
``input_layers`` and ``output_layers``. A Sequential is the special case of a chain.

Example:
    >>> inputs = Input((784,))
    >>> hidden = layers.Dense(64, activation="relu")(inputs)
    >>> outputs = layers.Dense(10)(hidden)
    >>> model = Model(inputs, outputs, name="mnist")
"""
from neuronet import execution
from neuronet import layers as layers_module
from neuronet.layers import InputLayer, InputSpec, masks
from neuronet.layers import node as graph
from neuronet.models.model import Model

KERAS_TENSOR = "__keras_tensor__"


class Functional(Model):
    """A model whose call runs the layers of a graph from ``inputs`` to ``outputs``.

    Args:
        inputs: an ``Input``, or a list or dict of them.
        outputs: a symbolic tensor computed from the inputs, or a list or dict of them;
            calling the model returns its outputs in the same form.
        name, dtype, trainable: as for any Model.

    Attributes:
        inputs, outputs: the symbolic tensors, as lists.
        output_names: the output layers' names (a dict's keys for dict outputs).
    """

    def __init__(self, inputs, outputs, name=None, dtype=None, trainable=True):
        super().__init__(name=name, dtype=dtype, trainable=trainable)
        self._input_structure = inputs
        self._output_structure = outputs
        self.inputs = self._checked_inputs(inputs)
        self.outputs = self._checked_outputs(outputs)
        self._nodes, self._layers = _map_graph(self, self.inputs, self.outputs)
        self._check_unique_names()
        shapes = [tensor.shape for tensor in self.inputs]
        self.input_shape = (None,) + shapes[0][1:] if len(shapes) == 1 else shapes
        self.built = True

    # --- construction --------------------------------------------------------
    def _checked_inputs(self, inputs):
        flat = graph.flatten(inputs)
        for tensor in flat:
            if not (isinstance(tensor, graph.SymbolicTensor) and
                    isinstance(tensor.layer, InputLayer)):
                raise TypeError(f"{self.describe()}: inputs must be made by neuronet.Input(...), "
                                f"got {tensor!r}")
        if not flat:
            raise ValueError(f"{self.describe()} needs at least one input")
        if len({id(tensor) for tensor in flat}) != len(flat):
            raise ValueError(f"{self.describe()}: an Input is listed twice among the inputs "
                             f"{[tensor.name for tensor in flat]}")
        return flat

    def _checked_outputs(self, outputs):
        flat = graph.flatten(outputs)
        for tensor in flat:
            if not isinstance(tensor, graph.SymbolicTensor):
                raise TypeError(f"{self.describe()}: outputs must be symbolic tensors (an "
                                f"Input or a layer's output), got {type(tensor).__name__}")
        if not flat:
            raise ValueError(f"{self.describe()} needs at least one output")
        return flat

    def _check_unique_names(self):
        names = [layer.name for layer in self._layers]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"{self.describe()}: layer names must be unique, {repeated} "
                             "name several layers")

    # --- what it is made of --------------------------------------------------
    @property
    def layers(self):
        """The layers, InputLayers included, in Keras' order (by decreasing depth)."""
        return list(self._layers)

    @property
    def nodes(self):
        """The calls of layers the model runs, in the order it runs them."""
        return list(self._nodes)

    @property
    def input(self):
        return self._input_structure

    @property
    def output(self):
        return self._output_structure

    @property
    def input_names(self):
        return [tensor.name for tensor in self.inputs]

    @property
    def output_names(self):
        """Keras' names of the outputs: a dict's keys, else the output layers' names."""
        if isinstance(self._output_structure, dict):
            return list(self._output_structure)
        return [tensor.name for tensor in self.outputs]

    def node_index(self, node):
        """``node``'s index among its layer's calls inside this model (Keras' node index
        in configs and in the summary's 'Connected to')."""
        own = [n for n in graph.inbound_nodes(node.layer) if id(n) in self._node_ids]
        return next(i for i, n in enumerate(own) if n is node)

    @property
    def _node_ids(self):
        return {id(node) for node in self._nodes}

    # --- running ---------------------------------------------------------------
    def _planned_layers(self):
        return self._layers

    def _new_plan(self):
        return execution.Plan(self._layers, nodes=self._nodes, outputs=self.outputs)

    def build(self, input_shape=None):
        """Built at construction: nothing to do."""

    def input_spec(self):
        """One input: its rank and fixed sizes; several: checked one by one at the call."""
        if len(self.inputs) != 1:
            return InputSpec()
        return _spec_of(self.inputs[0])

    def _prepared_input(self, inputs):
        """The inputs as a list in ``inputs`` order (given as one array, a list or a dict by
        Input name), each converted to its Input's dtype and checked against its shape."""
        flat = self._flat_inputs(inputs)
        prepared = []
        for tensor, value in zip(self.inputs, flat):
            value = tensor.layer._to_input_tensor(value)
            self._check_input_shape(tensor, value.shape)
            prepared.append(value)
        return prepared

    def _check_input_shape(self, tensor, shape):
        try:
            _spec_of(tensor).check(self, shape)
        except ValueError as error:
            if len(self.inputs) == 1:
                raise
            raise ValueError(f"{error} (input {tensor.name!r})") from None

    def _check_inputs(self, x, method):
        """fit/evaluate/predict's data, before any batch runs: as many inputs as the model
        has (a list in order, or a dict by Input name), each fitting its Input."""
        super()._check_inputs(x, method)
        for tensor, value in zip(self.inputs, self._flat_inputs(x)):
            self._check_input_shape(tensor, value.shape)

    def _flat_inputs(self, inputs):
        names = self.input_names
        if isinstance(inputs, dict):
            missing = [name for name in names if name not in inputs]
            unknown = [key for key in inputs if key not in names]
            if missing or unknown:
                raise ValueError(f"{self.describe()} expects inputs named {names}, got a dict "
                                 f"with keys {list(inputs)} (missing {missing or 'none'}, "
                                 f"unknown {unknown or 'none'})")
            return [inputs[name] for name in names]
        if isinstance(inputs, (list, tuple)) and (len(names) > 1 or _is_list_of_arrays(inputs)):
            if len(inputs) != len(names):
                raise ValueError(f"{self.describe()} expects {len(names)} inputs {names}, got "
                                 f"{len(inputs)}")
            return list(inputs)
        if len(names) != 1:
            raise ValueError(f"{self.describe()} expects {len(names)} inputs {names}, got 1 "
                             f"({type(inputs).__name__}): pass a list or a dict by name")
        return [inputs]

    def call(self, inputs, training=False, mask=None):
        """The nodes in turn on ``inputs`` (the list ``_prepared_input`` gives); the outputs
        in the form they were given to the model (a tensor, a list or a dict). ``mask``:
        one per input (a list), or the mask of the only input; each layer's output carries
        its mask to the layers that read it."""
        if mask is not None:
            inputs = _with_masks(self, inputs, mask)
        values = {id(tensor): value for tensor, value in zip(self.inputs, inputs)}
        values = self.execution_plan.run_graph(values, training=training)
        return graph.pack_like(self._output_structure,
                               [values[id(tensor)] for tensor in self.outputs])

    def compute_output_shape(self, input_shape):
        """The outputs' shapes for inputs of ``input_shape`` (one shape, a list, or a dict
        by Input name), each layer's ``compute_output_shape`` in turn."""
        if graph.is_shape(input_shape):
            shapes = [input_shape]
        elif isinstance(input_shape, dict):
            shapes = [input_shape[name] for name in self.input_names]
        else:
            shapes = list(input_shape)
        known = {id(tensor): tuple(shape) for tensor, shape in zip(self.inputs, shapes)}
        for node in self._nodes:
            if not node.inputs:
                continue
            shapes, _ = node.split([known[id(t)] for t in node.inputs])
            arguments = graph.pack_like(node.arguments, shapes)
            produced = graph.flatten_shapes(node.layer.compute_output_shape(arguments))
            known.update(zip([id(t) for t in node.output_tensors], produced))
        return graph.pack_like(self._output_structure,
                               [known[id(tensor)] for tensor in self.outputs])

    @property
    def output_shape(self):
        return self.compute_output_shape([tensor.shape for tensor in self.inputs])

    # --- config ------------------------------------------------------------------
    def get_config(self):
        """Keras' functional config: 'layers' (each serialized, with its 'name' and its
        'inbound_nodes': the tensors each call received, as [layer, node, tensor]
        histories, a ``mask=`` among the call's 'kwargs'), 'input_layers' and
        'output_layers' (histories in the form the inputs and outputs were given);
        JSON-able."""
        own = self._node_ids
        described = []
        for layer in self._layers:
            nodes = [n for n in graph.inbound_nodes(layer) if id(n) in own]
            described.append({**layers_module.serialize(layer), "name": layer.name,
                              "inbound_nodes": [self._encode_node(node)
                                                for node in nodes if node.inputs]})
        return {"name": self.name, "dtype": self.dtype, "trainable": self._trainable,
                "layers": described,
                "input_layers": self._histories(self._input_structure),
                "output_layers": self._histories(self._output_structure)}

    def _encode_node(self, node):
        """A call as Keras writes it: {'args': [the inputs], 'kwargs': {'mask': ...}}."""
        kwargs = {"mask": self._encode(node.mask)} if node.mask is not None else {}
        return {"args": [self._encode(node.arguments)], "kwargs": kwargs}

    def _history(self, tensor):
        return [tensor.name, self.node_index(tensor.node), tensor.index]

    def _histories(self, structure):
        if isinstance(structure, dict):
            return {key: self._histories(value) for key, value in structure.items()}
        if isinstance(structure, (list, tuple)):
            return [self._histories(value) for value in structure]
        return self._history(structure)

    def _encode(self, arguments):
        return graph.pack_like(arguments, [
            {"class_name": KERAS_TENSOR,
             "config": {"shape": list(t.shape), "dtype": t.dtype,
                        "keras_history": self._history(t)}}
            for t in graph.flatten(arguments)])

    @classmethod
    def from_config(cls, config):
        """A new, uncompiled model of new layers, called on each other as the config's
        inbound nodes say (only registered layer classes: ``layers.deserialize``)."""
        made = {}  # (layer name, node index) -> that call's outputs, flattened
        pending = []  # (layer, node index, arguments) still to call, in config order
        for description in config["layers"]:
            layer = layers_module.deserialize({"class_name": description["class_name"],
                                               "config": description["config"]})
            if isinstance(layer, InputLayer):
                made[(description["name"], 0)] = [layer.output]
            for index, inbound in enumerate(description.get("inbound_nodes", [])):
                mask = (inbound.get("kwargs") or {}).get("mask")
                pending.append((layer, description["name"], index, inbound["args"][0], mask))
        while pending:
            ready = [item for item in pending if _can_call(item, made)]
            if not ready:
                raise ValueError(f"functional config {config.get('name')!r}: the inbound nodes "
                                 f"of {sorted({item[1] for item in pending})} name layers or "
                                 "calls that are not in the config")
            for item in ready:
                layer, name, index, arguments, mask = item
                mask = _decode(mask, made) if mask is not None else None
                outputs = layer(_decode(arguments, made), mask=mask)
                made[(name, index)] = graph.flatten(outputs)
                pending.remove(item)
        return cls(_decode_histories(config["input_layers"], made),
                   _decode_histories(config["output_layers"], made),
                   name=config.get("name"), dtype=config.get("dtype"),
                   trainable=config.get("trainable", True))

    def layer_graph(self):
        """(layers, edges): ``layers`` in Keras' order and ``edges`` as (source, target)
        index pairs into it, one per tensor a node reads (what ``utils.plot_model`` draws)."""
        position = {id(layer): index for index, layer in enumerate(self._layers)}
        edges = [(position[id(tensor.layer)], position[id(node.layer)])
                 for node in self._nodes for tensor in node.inputs]
        return self.layers, edges


layers_module.register(Functional)


def _spec_of(tensor):
    """The rank and the fixed sizes (batch excepted) of an Input's symbolic tensor."""
    fixed = {axis: n for axis, n in enumerate(tensor.shape) if axis > 0 and n is not None}
    return InputSpec(ndim=tensor.ndim, axes=fixed)


def _with_masks(model, inputs, mask):
    """The inputs, each carrying its mask (``mask``: a list of one per input, or the only
    input's mask)."""
    given = mask if isinstance(mask, list) else [mask]  # ``masks.as_mask`` made it a list
    if len(given) != len(inputs):
        raise ValueError(f"{model.describe()} expects {len(inputs)} masks (one per input, None "
                         f"for none), got {len(given)}")
    return [x if m is None or masks.get_mask(x) is m else masks.with_mask(x, m)
            for x, m in zip(inputs, given)]


def _is_list_of_arrays(inputs):
    """A list of one array for a one-input model (not a nested list that is the data)."""
    return len(inputs) == 1 and hasattr(inputs[0], "shape")


# --- the graph between the inputs and the outputs ---------------------------------------
def _map_graph(model, inputs, outputs):
    """(nodes, layers): the nodes that compute ``outputs`` from ``inputs``, each after those
    it reads from, and their layers in Keras' order: by
    decreasing depth, then in the order a walk back from the outputs first meets them.
    ValueError when an output depends on an Input that is not among ``inputs``."""
    found, first_met = _walk_back(model, inputs, outputs)
    for tensor in inputs:  # an unused input still belongs to the model
        if id(tensor.node) not in {id(node) for node in found}:
            found.insert(0, tensor.node)
            first_met.setdefault(id(tensor.layer), len(first_met))
    node_depth, layer_depth = {}, {}
    for node in reversed(found):  # a node's readers come before it here
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        node_depth[id(node)] = layer_depth[id(node.layer)] = depth
        for parent in node.parents:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    graph_layers = {id(node.layer): node.layer for node in found}
    layers = sorted(graph_layers.values(),
                    key=lambda layer: (-layer_depth[id(layer)], first_met[id(layer)]))
    return found, layers


def _walk_back(model, inputs, outputs):
    """The nodes from the outputs back to the inputs, each after the nodes it reads from
    (an iterative depth-first walk), and {id(layer): when the walk first met it}."""
    input_ids = {id(tensor) for tensor in inputs}
    found, done, first_met = [], set(), {}
    for output in outputs:
        stack = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            node = tensor.node
            if expanded:
                if id(node) not in done:
                    done.add(id(node))
                    found.append(node)
                continue
            if id(node) in done:
                continue
            first_met.setdefault(id(node.layer), len(first_met))
            stack.append((tensor, True))
            if id(tensor) in input_ids:
                continue
            if not node.inputs:
                raise ValueError(
                    f"{model.describe()}: graph disconnected: output {output.name!r} depends "
                    f"on {tensor.layer.describe()}, which is not among the model's inputs "
                    f"{[t.name for t in inputs]}")
            stack.extend((parent, False) for parent in reversed(node.inputs))
    return found, first_met


# --- reading a config ------------------------------------------------------------------
def _is_encoded_tensor(value):
    return isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR


def _encoded_tensors(arguments):
    if _is_encoded_tensor(arguments):
        return [arguments]
    if isinstance(arguments, dict):
        return [t for value in arguments.values() for t in _encoded_tensors(value)]
    if isinstance(arguments, list):
        return [t for value in arguments for t in _encoded_tensors(value)]
    raise ValueError(f"an inbound node's argument is not a tensor, list or dict: {arguments!r}")


def _can_call(item, made):
    layer, name, index, arguments, mask = item
    earlier_done = index == 0 or (name, index - 1) in made
    read = _encoded_tensors(arguments) + (_encoded_tensors(mask) if mask is not None else [])
    return earlier_done and all(_key(t) in made for t in read)


def _key(encoded):
    name, node_index, _ = encoded["config"]["keras_history"]
    return name, node_index


def _tensor_at(history, made):
    name, node_index, index = history
    try:
        return made[(name, node_index)][index]
    except (KeyError, IndexError):
        raise ValueError(f"functional config: no tensor {history!r} (layer, call, output) "
                         "among the layers' calls") from None


def _decode(arguments, made):
    if _is_encoded_tensor(arguments):
        return _tensor_at(arguments["config"]["keras_history"], made)
    if isinstance(arguments, dict):
        return {key: _decode(value, made) for key, value in arguments.items()}
    return [_decode(value, made) for value in arguments]


def _decode_histories(histories, made):
    """input_layers / output_layers: a history [name, node, index], or a list or dict."""
    if isinstance(histories, dict):
        return {key: _decode_histories(value, made) for key, value in histories.items()}
    if len(histories) == 3 and isinstance(histories[0], str):
        return _tensor_at(histories, made)
    return [_decode_histories(value, made) for value in histories]
