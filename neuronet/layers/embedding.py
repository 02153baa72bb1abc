"""Embedding: a learned vector per integer id (a word, a character, a category)."""
import warnings

from neuronet import initializers, ops, regularizers
from neuronet.backend import xp
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.layers.node import SymbolicTensor
from neuronet.ops.indexing import check_ids
from neuronet.tensor import Tensor


@register
class Embedding(Layer):
    """y[..., :] = embeddings[ids[...], :]: row ``id`` of a learned table for each id.

    Args:
        input_dim: the number of ids (the vocabulary size): ids lie in [0, input_dim).
        output_dim: the length of each vector.
        embeddings_initializer: Keras' 'uniform', U(-0.05, 0.05), by default.
        embeddings_regularizer: a regularizer of the table, or None.
        mask_zero: id 0 is padding: the output carries the mask ``ids != 0``
            (``neuronet.layers.masks``), which recurrent and pooling layers downstream
            honour; id 0 still has a row (so input_dim counts it).
        input_length: accepted and ignored (Keras 3 dropped it too).

    Shape:
        (batch, ...) integer ids -> (batch, ..., output_dim); embeddings (input_dim,
        output_dim): input_dim * output_dim parameters.

    Example:
        >>> Embedding(10000, 16)(np.array([[4, 7, 0]])).shape
        (1, 3, 16)
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, mask_zero=False, input_length=None, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, (int, xp.integer)) or value < 1:
                raise ValueError(f"{self.describe()} expects a positive int {what}, "
                                 f"got {value!r}")
        if input_length is not None:
            warnings.warn(f"{self.describe()}: input_length is ignored (Keras 3 dropped it)",
                          UserWarning, stacklevel=2)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)

    @property
    def supports_masking(self):
        """Keras: an Embedding makes a mask only with ``mask_zero``."""
        return self.mask_zero

    def input_spec(self):
        return InputSpec(min_ndim=1, layout="(batch, ...) of integer ids")

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer)

    def _to_input_tensor(self, x):
        """Ids stay integers (a float array of whole numbers, as a model's trial zeros,
        becomes int64), checked against ``input_dim``."""
        if isinstance(x, SymbolicTensor):
            return x
        data = x.data if isinstance(x, Tensor) else xp.asarray(x)
        try:
            ids = check_ids(data, self.input_dim, self.describe())
        except ValueError as error:
            raise ValueError(f"{error}, in input of shape {data.shape}") from None
        return Tensor(ids)

    def call(self, ids, training=False):
        return ops.embedding(ids, self.embeddings)

    def compute_mask(self, inputs, mask=None):
        """ids != 0 with ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        return inputs.data != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "mask_zero": self.mask_zero}
