"""The backward walk over the tape: an iterative topological order (no recursion, so
graphs thousands of ops deep work) and each node's gradients added into its inputs'."""
from neuronet.tensor.core import Tensor


def run_backward(root, gy, retain_graph):
    """Send ``gy`` = d(out)/d(root) down the graph into every leaf's ``.grad`` (``+=``)."""
    grads = {id(root): gy}
    for node in topological_order(root):
        gy = grads.pop(id(node), None)
        if gy is None:
            continue
        if node._ctx is None:
            node._accumulate(gy)
        else:
            propagate(node._ctx, gy, grads, retain_graph)


def topological_order(root):
    """Tensors that need a gradient, each after every tensor computed from it.

    Iterative depth-first search: a node is emitted once all its inputs are, then
    the list is reversed so the walk goes from the root down to the leaves.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            for parent in node._ctx.inputs:
                needed = isinstance(parent, Tensor) and parent.requires_grad
                if needed and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def propagate(fn, gy, grads, retain_graph):
    """Run one node's backward and add its input gradients into ``grads``."""
    if fn.released:
        raise RuntimeError(
            "backward() through a graph a second time: its saved arrays were freed by the "
            "first call; pass retain_graph=True to the first backward() to keep them")
    input_grads = fn.backward(gy)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if not retain_graph:
        fn.saved = ()
        fn.released = True
    for parent, needed, g in zip(fn.inputs, fn.needs_input_grad, input_grads):
        if not needed or g is None:
            continue
        if g.shape != parent.data.shape:
            raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape "
                               f"{g.shape} for an input of shape {parent.data.shape}")
        key = id(parent)
        if key in grads:
            grads[key] = grads[key] + g
        else:
            grads[key] = g
