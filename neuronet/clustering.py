"""Clustering in NumPy: k-means (k-means++ start), PCA, DEC's sharpened target, and
the scores that compare a clustering with the true labels: cluster accuracy
(Hungarian matching) and NMI.

    labels, centers, inertia = kmeans(codes, 10, seed=0)
    cluster_accuracy(y_true, labels), normalized_mutual_info(y_true, labels)
    points = pca(codes, 2)
    p = target_distribution(q)   # q: soft assignments (N, k), layers.ClusterAssignment

Everything here is written out (no scikit-learn, no SciPy); the tests check each
function against a hand-worked example, and NMI and k-means against scikit-learn.
"""
import numpy


def kmeans(x, k, seed=0, n_init=3, max_iter=100, tol=1e-6):
    """Lloyd's k-means from k-means++ starts; the run of lowest inertia wins.

    inertia = sum_i ||x_i - c_{label_i}||^2. Each run: k-means++ picks the first
    centre uniformly, each next one with probability proportional to D(x)^2 (the
    squared distance to the nearest centre chosen so far; Arthur & Vassilvitskii,
    2007); then assign every point to its nearest centre and move each centre to the
    mean of its points, until the centres move less than ``tol`` (relative to the
    data's variance) or ``max_iter`` steps. An empty cluster takes the point farthest
    from its centre.

    Args:
        x: (N, D) points.
        k: clusters, 1 <= k <= N.
        seed: seeds the generator of all ``n_init`` starts.

    Returns:
        (labels (N,) int64, centers (k, D) float64, inertia float).
    """
    x = numpy.asarray(x, dtype=numpy.float64).reshape(len(x), -1)
    if not 1 <= k <= len(x):
        raise ValueError(f"kmeans: k must be in 1..{len(x)} (the number of points), got {k}")
    rng = numpy.random.default_rng(seed)
    threshold = tol * float(numpy.mean(numpy.var(x, axis=0)))
    best = None
    for _ in range(n_init):
        result = _lloyd(x, kmeans_plus_plus(x, k, rng), max_iter, threshold)
        if best is None or result[2] < best[2]:
            best = result
    return best


def kmeans_plus_plus(x, k, rng):
    """k starting centres (k, D): the first uniform, then by D(x)^2 sampling."""
    centers = [x[rng.integers(len(x))]]
    x_norms = row_norms(x)
    nearest = squared_distances(x, centers[0][None], x_norms)[:, 0]
    for _ in range(1, k):
        total = nearest.sum()
        if total > 0:
            index = rng.choice(len(x), p=nearest / total)
        else:  # every point sits on a centre already
            index = rng.integers(len(x))
        centers.append(x[index])
        nearest = numpy.minimum(nearest, squared_distances(x, x[index][None], x_norms)[:, 0])
    return numpy.array(centers)


def squared_distances(x, centers, x_norms=None):
    """(N, k) squared Euclidean distances ||x||^2 - 2 x.c + ||c||^2, clipped at 0;
    ``x_norms``: ||x||^2 (N,) where the caller has it already."""
    if x_norms is None:
        x_norms = row_norms(x)
    distances = x @ (-2.0 * centers.T)
    distances += x_norms[:, None]
    distances += row_norms(centers)[None, :]
    return numpy.maximum(distances, 0.0, out=distances)


def row_norms(x):
    """||x_i||^2 per row, without an (N, D) temporary."""
    return numpy.einsum("ij,ij->i", x, x)


def _lloyd(x, centers, max_iter, threshold):
    x_norms = row_norms(x)
    for _ in range(max_iter):
        distances = squared_distances(x, centers, x_norms)
        labels = distances.argmin(axis=1)
        moved = _update_centers(x, labels, distances, centers)
        shift = float(((moved - centers) ** 2).sum())
        centers = moved
        if shift <= threshold:
            break
    distances = squared_distances(x, centers, x_norms)
    labels = distances.argmin(axis=1)
    return labels.astype(numpy.int64), centers, float(distances.min(axis=1).sum())


def _update_centers(x, labels, distances, centers):
    k = len(centers)
    counts = numpy.bincount(labels, minlength=k)
    members = numpy.zeros((k, len(x)))
    members[labels, numpy.arange(len(x))] = 1.0
    moved = (members @ x) / numpy.maximum(counts, 1)[:, None]  # one product, not add.at
    for empty in numpy.flatnonzero(counts == 0):
        farthest = int(distances[numpy.arange(len(x)), labels].argmax())
        moved[empty] = x[farthest]
        distances[farthest] = 0.0  # a second empty cluster takes another point
    return moved


def linear_assignment(cost):
    """The assignment of rows to columns with the least total cost (Hungarian method).

    For an (n, m) matrix with n <= m: each row gets a different column, minimising
    sum_i cost[i, col_i]. Shortest augmenting paths with row and column potentials
    u, v (kept so that cost[i, j] - u[i] - v[j] >= 0, zero on the matching), one row
    added at a time: O(n^2 m).

    Returns:
        (rows, cols): int arrays of length n, rows = 0..n-1.
    """
    cost = numpy.asarray(cost, dtype=numpy.float64)
    transposed = cost.shape[0] > cost.shape[1]
    if transposed:
        cost = cost.T
    n, m = cost.shape
    u, v = numpy.zeros(n + 1), numpy.zeros(m + 1)
    owner = numpy.zeros(m + 1, dtype=numpy.int64)  # owner[j]: 1-based row on column j
    for row in range(1, n + 1):
        _augment(cost, u, v, owner, row)
    rows, cols = owner[1:] - 1, numpy.arange(m)
    matched = rows >= 0
    rows, cols = rows[matched], cols[matched]
    order = numpy.argsort(rows)
    rows, cols = rows[order], cols[order]
    return (cols, rows) if transposed else (rows, cols)


def _augment(cost, u, v, owner, row):
    """Add ``row`` to the matching along the cheapest path of reduced costs (column 0
    is a virtual start holding the new row)."""
    m = cost.shape[1]
    owner[0] = row
    slack = numpy.full(m + 1, numpy.inf)
    previous = numpy.zeros(m + 1, dtype=numpy.int64)
    used = numpy.zeros(m + 1, dtype=bool)
    column = 0
    while owner[column] != 0:
        used[column] = True
        i = owner[column]
        free = ~used[1:]
        reduced = cost[i - 1] - u[i] - v[1:]
        better = free & (reduced < slack[1:])
        slack[1:][better] = reduced[better]
        previous[1:][better] = column
        candidates = numpy.where(free, slack[1:], numpy.inf)
        nxt = int(candidates.argmin()) + 1
        delta = candidates[nxt - 1]
        u[owner[used]] += delta
        v[used] -= delta
        slack[1:][free] -= delta
        column = nxt
    while column != 0:  # flip the path's edges
        before = previous[column]
        owner[column] = owner[before]
        column = before


def target_distribution(q):
    """DEC's target (Xie, Girshick & Farhadi 2016, eq. 3) for soft assignments q (N, k):
    p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij.

    Squaring sharpens each row towards its confident clusters; dividing by the soft
    cluster size f_j keeps a large cluster from swallowing the others. Rows sum to 1.
    """
    q = numpy.asarray(q, dtype=numpy.float64)
    if q.ndim != 2 or numpy.any(q < 0):
        raise ValueError(f"target_distribution: expected non-negative soft assignments of "
                         f"shape (N, k), got shape {q.shape}"
                         + (" with negative entries" if q.ndim == 2 else ""))
    weights = q ** 2 / q.sum(axis=0)
    return weights / weights.sum(axis=1, keepdims=True)


def contingency(y_true, y_pred):
    """(classes, clusters) counts: n[i, j] = points of class i put in cluster j (labels
    are renumbered 0.. in sorted order); returns (matrix, classes, clusters)."""
    classes, true_index = numpy.unique(numpy.asarray(y_true), return_inverse=True)
    clusters, pred_index = numpy.unique(numpy.asarray(y_pred), return_inverse=True)
    if true_index.shape != pred_index.shape:
        raise ValueError(f"contingency: y_true has {true_index.size} labels, y_pred "
                         f"{pred_index.size}; they must be as many")
    matrix = numpy.zeros((len(classes), len(clusters)), dtype=numpy.int64)
    numpy.add.at(matrix, (true_index.ravel(), pred_index.ravel()), 1)
    return matrix, classes, clusters


def cluster_accuracy(y_true, y_pred):
    """ACC = max over one-to-one maps m from clusters to classes of
    (1/N) sum_i [y_true_i = m(y_pred_i)]: the best matching of the contingency matrix
    (Hungarian method on -counts). Clusters left unmatched (more clusters than
    classes) count as wrong."""
    matrix, _, _ = contingency(y_true, y_pred)
    rows, cols = linear_assignment(-matrix)
    return float(matrix[rows, cols].sum() / matrix.sum())


def cluster_to_class(y_true, y_pred):
    """{cluster label: class label} of the matching ``cluster_accuracy`` scores."""
    matrix, classes, clusters = contingency(y_true, y_pred)
    rows, cols = linear_assignment(-matrix)
    return {clusters[j].item(): classes[i].item() for i, j in zip(rows, cols)}


def entropy(counts):
    """H = -sum p log p (natural log) of counts."""
    p = numpy.asarray(counts, dtype=numpy.float64)
    p = p[p > 0] / p.sum()
    return float(-(p * numpy.log(p)).sum())


def mutual_information(y_true, y_pred):
    """MI = sum_ij p_ij log(p_ij / (p_i p_j)) of the contingency matrix (nats)."""
    matrix, _, _ = contingency(y_true, y_pred)
    p = matrix / matrix.sum()
    outer = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    nonzero = p > 0
    return float((p[nonzero] * numpy.log(p[nonzero] / outer[nonzero])).sum())


def normalized_mutual_info(y_true, y_pred):
    """NMI = MI(U, V) / ((H(U) + H(V)) / 2), the arithmetic normalisation (scikit-learn's
    default). 1 when both labelings are one constant (nothing to tell apart)."""
    matrix, _, _ = contingency(y_true, y_pred)
    h_true, h_pred = entropy(matrix.sum(axis=1)), entropy(matrix.sum(axis=0))
    if h_true == 0 and h_pred == 0:
        return 1.0
    mean = (h_true + h_pred) / 2
    return float(max(mutual_information(y_true, y_pred), 0.0) / mean)


def pca(x, components=2):
    """The projections (N, components) of the centred points on their top principal
    axes (the right singular vectors of the centred data), each axis' sign fixed so its
    largest coefficient is positive; returns (projections, explained variance ratios)."""
    x = numpy.asarray(x, dtype=numpy.float64).reshape(len(x), -1)
    centred = x - x.mean(axis=0)
    _, singular, axes = numpy.linalg.svd(centred, full_matrices=False)
    axes = axes[:components]
    signs = numpy.sign(axes[numpy.arange(len(axes)), numpy.abs(axes).argmax(axis=1)])
    axes = axes * signs[:, None]
    variance = singular ** 2
    return centred @ axes.T, variance[:components] / variance.sum()
