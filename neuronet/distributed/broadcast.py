"""``broadcast_weights``: every rank takes rank ``root``'s weights and optimizer state.

First each rank's list of (name, shape, dtype) is gathered on all ranks and compared
with the root's, so models that differ fail on every rank at once with an error that
names the weight and both shapes (a Bcast of unequal sizes would hang or corrupt
memory instead). Then each array is sent in place with ``Bcast``: the weights (moving
statistics too), the optimizer's slot arrays; its numbers (iterations, step counts,
learning rate) go in one small pickled message.
"""
import numpy

from neuronet.distributed import comm


def broadcast_weights(model, root=0):
    """Overwrite the weights and optimizer state of ``model`` (built) with rank ``root``'s.

    Raises ValueError on every rank when the ranks' models differ in their weights'
    number, shapes or dtypes."""
    if comm.size() == 1:
        return
    if not model.built:
        raise ValueError(f"broadcast_weights: {model.describe()} is not built yet; build it "
                         "(model.build(input_shape) or a first call on data) first")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        optimizer.build(model.trainable_weights)  # its slots exist before they are sent
    arrays = _named_arrays(model, optimizer)
    _check_same(arrays, root)
    world = comm.world()
    for _, array in arrays:
        world.Bcast(array, root=root)
    if optimizer is not None:
        _set_numbers(optimizer, comm.broadcast_object(_numbers(optimizer), root))


def _named_arrays(model, optimizer):
    arrays = list(zip(model.weight_names, (weight.data for weight in model.weights)))
    if optimizer is not None:
        for name, state in zip(_trainable_names(model), optimizer._states):
            arrays += [(f"optimizer slot '{slot}' of {name}", value)
                       for slot, value in state.items() if isinstance(value, numpy.ndarray)]
    for name, array in arrays:
        if not array.flags.c_contiguous:
            raise ValueError(f"broadcast_weights: {name} is not a contiguous array")
    return arrays


def _trainable_names(model):
    names = {id(weight): name for name, weight in zip(model.weight_names, model.weights)}
    return [names.get(id(weight), "a weight") for weight in model.trainable_weights]


def _check_same(arrays, root):
    """Raise the same ValueError on every rank when a rank's arrays differ from root's."""
    mine = [(name, tuple(array.shape), array.dtype.str) for name, array in arrays]
    every = comm.allgather_object(mine)
    expected = every[root]
    for rank, theirs in enumerate(every):
        if theirs == expected:
            continue
        for ours, other in zip(expected, theirs):
            if ours != other:
                raise ValueError(
                    f"broadcast_weights: the ranks' models differ: {ours[0]} has shape "
                    f"{ours[1]} ({numpy.dtype(ours[2]).name}) on rank {root} but {other[0]} "
                    f"has shape {other[1]} ({numpy.dtype(other[2]).name}) on rank {rank}")
        raise ValueError(f"broadcast_weights: the ranks' models differ: rank {root} has "
                         f"{len(expected)} weight and optimizer arrays, rank {rank} has "
                         f"{len(theirs)}")


def _numbers(optimizer):
    return {"iterations": optimizer.iterations,
            "states": [{key: value for key, value in state.items()
                        if not isinstance(value, numpy.ndarray)}
                       for state in optimizer._states],
            "learning_rate": None if optimizer._schedule is not None
            else optimizer.learning_rate}


def _set_numbers(optimizer, numbers):
    optimizer.iterations = numbers["iterations"]
    for state, values in zip(optimizer._states, numbers["states"]):
        state.update(values)
    if numbers["learning_rate"] is not None:
        optimizer.learning_rate = numbers["learning_rate"]
