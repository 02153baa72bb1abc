"""Layer names: Keras' default ones, unique per prefix."""
import re

_name_counts = {}


def _snake_case(class_name):
    """'MaxPooling2D' -> 'max_pooling2d', 'ReLU' -> 're_lu' (Keras' layer names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix):
    """'dense', then 'dense_1', 'dense_2', ... (one counter per prefix, as Keras)."""
    count = _name_counts.get(prefix, 0)
    _name_counts[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"
