"""ClusterAssignment: soft assignments of points to learned cluster centres (DEC)."""
from neuronet import initializers, ops
from neuronet.layers.base import InputSpec, Layer, register


@register
class ClusterAssignment(Layer):
    """q_ij = k_ij / sum_j' k_ij', k_ij = (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha + 1) / 2).

    The Student's t kernel with ``alpha`` degrees of freedom between each input z_i and
    each centre mu_j (a trainable weight), normalised over the centres: row i is the
    probability of assigning z_i to each cluster (Xie, Girshick & Farhadi 2016, "Deep
    Embedded Clustering", eq. 1). Trained with ``KLDivergence`` against a sharpened
    target, it pulls points towards their confident clusters
    (``neuronet.clustering.DEC``). With d_ij = ||z_i - mu_j||^2 and the upstream
    gradient of KL(P || Q), dL/dz_i = (alpha + 1) / alpha * sum_j (p_ij - q_ij)
    (z_i - mu_j) / (1 + d_ij / alpha) (eq. 4), which autograd finds from the ops below.

    Args:
        clusters: the number of centres k.
        alpha: the kernel's degrees of freedom (DEC: 1).
        centers_initializer: for ``centers``; DEC sets them from k-means afterwards.

    Shape:
        (batch, features) -> (batch, clusters); centers (clusters, features).

    Example:
        >>> ClusterAssignment(10)(np.zeros((32, 10))).shape
        (32, 10)
    """

    def __init__(self, clusters, alpha=1.0, centers_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(clusters, int) or isinstance(clusters, bool) or clusters < 1:
            raise ValueError(f"{self.describe()} expects a positive int of clusters, got "
                             f"{clusters!r}")
        if not alpha > 0:
            raise ValueError(f"{self.describe()} expects alpha > 0, got {alpha!r}")
        self.clusters, self.alpha = clusters, float(alpha)
        self.centers_initializer = initializers.get(centers_initializer)

    def input_spec(self):
        features = self.input_shape[-1] if self.input_shape else None
        return InputSpec(ndim=2, axes={-1: features}, layout="(batch, features)")

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"{self.describe()} needs a known number of features, got input "
                             f"shape {tuple(input_shape)}")
        self.centers = self.add_weight("centers", (self.clusters, input_shape[-1]),
                                       self.centers_initializer)
        super().build(input_shape)

    def call(self, x, training=False):
        # ||z - mu||^2 = ||z||^2 - 2 z.mu + ||mu||^2: a product instead of a
        # (batch, clusters, features) difference; clipped at 0 against rounding.
        squared = (ops.sum(x * x, axis=-1, keepdims=True) - 2.0 * ops.matmul(
            x, ops.transpose(self.centers)) + ops.reshape(
                ops.sum(self.centers * self.centers, axis=-1), (1, self.clusters)))
        kernel = ops.power(1.0 + ops.maximum(squared, 0.0) / self.alpha,
                           -(self.alpha + 1.0) / 2.0)
        return kernel / ops.sum(kernel, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.clusters)

    def get_config(self):
        return {**super().get_config(), "clusters": self.clusters, "alpha": self.alpha,
                "centers_initializer": initializers.serialize(self.centers_initializer)}
