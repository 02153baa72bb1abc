"""How Keras 3 names things inside a ``.keras`` file."""
import re

MEMBERS = ("metadata.json", "config.json", "model.weights.h5")


def snake_case(class_name):
    """Keras' object names: 'Conv2D' -> 'conv2d', 'LeakyReLU' -> 'leaky_re_lu',
    'GlobalAveragePooling2D' -> 'global_average_pooling2d'."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def container_names(class_names):
    """The weights-file group of each layer of a model, in ``layers`` order: the snake-cased
    class name, then '<name>_1', '<name>_2', ... for the next layers of that class."""
    seen = {}
    for class_name in class_names:
        name = snake_case(class_name)
        seen[name] = seen.get(name, -1) + 1
        yield name if seen[name] == 0 else f"{name}_{seen[name]}"
