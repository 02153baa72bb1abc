import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import normalized_mutual_info_score

from neuronet import clustering


def test_cluster_accuracy_by_hand():
    # Contingency (classes x clusters): class 0 -> cluster 1 twice, cluster 0 once;
    # class 1 -> cluster 0 twice; class 2 -> cluster 2 once. Best map: 1->0, 0->1, 2->2,
    # which gets 2 + 2 + 1 of the 6 points right.
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [1, 1, 0, 0, 0, 2]
    assert clustering.cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert clustering.cluster_to_class(y_true, y_pred) == {1: 0, 0: 1, 2: 2}


def test_cluster_accuracy_ignores_cluster_names_and_counts_extra_clusters_wrong():
    assert clustering.cluster_accuracy([0, 0, 1, 1], [7, 7, 3, 3]) == 1.0
    # Four clusters for two classes: only two clusters can be matched.
    assert clustering.cluster_accuracy([0, 0, 1, 1], [0, 1, 2, 3]) == 0.5


def test_nmi_by_hand():
    # Contingency [[2, 0], [1, 1]] over 4 points: p = [[.5, 0], [.25, .25]], rows .5/.5,
    # columns .75/.25.
    mi = 0.5 * np.log(0.5 / (0.5 * 0.75)) + 0.25 * np.log(0.25 / (0.5 * 0.75)) \
        + 0.25 * np.log(0.25 / (0.5 * 0.25))
    h_true = np.log(2)
    h_pred = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    expected = mi / ((h_true + h_pred) / 2)
    assert expected == pytest.approx(0.34371, abs=1e-5)
    assert clustering.normalized_mutual_info([0, 0, 1, 1], [0, 0, 0, 1]) == \
        pytest.approx(expected, rel=1e-12)


def test_nmi_matches_scikit_learn(rng):
    for classes, clusters in [(10, 10), (3, 7), (5, 2)]:
        y_true = rng.integers(classes, size=500)
        y_pred = np.where(rng.uniform(size=500) < 0.6, y_true % clusters,
                          rng.integers(clusters, size=500))
        assert clustering.normalized_mutual_info(y_true, y_pred) == pytest.approx(
            normalized_mutual_info_score(y_true, y_pred), rel=1e-10)
    assert clustering.normalized_mutual_info([1, 1, 1], [0, 0, 0]) == \
        normalized_mutual_info_score([1, 1, 1], [0, 0, 0])


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (3, 6), (6, 3), (7, 7), (12, 12)])
@pytest.mark.parametrize("draw", range(4))
def test_linear_assignment_is_optimal(rng, shape, draw):
    cost = rng.integers(0, 20, size=shape) if draw % 2 else rng.normal(size=shape)
    rows, cols = clustering.linear_assignment(cost)
    assert len(set(rows.tolist())) == len(set(cols.tolist())) == min(shape)
    total = cost[rows, cols].sum()
    best_rows, best_cols = linear_sum_assignment(cost)
    assert total == pytest.approx(cost[best_rows, best_cols].sum(), rel=1e-12)
    if max(shape) <= 6:  # by brute force too
        n = min(shape)
        small = cost if shape[0] <= shape[1] else cost.T
        brute = min(sum(small[i, p[i]] for i in range(n))
                    for p in itertools.permutations(range(max(shape)), n))
        assert total == pytest.approx(brute, rel=1e-12)


def test_kmeans_finds_separated_blobs():
    rng = np.random.default_rng(1)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = np.repeat(np.arange(3), 50)
    x = centers[labels] + rng.normal(scale=0.5, size=(150, 2))
    found, found_centers, inertia = clustering.kmeans(x, 3, seed=0)
    assert clustering.cluster_accuracy(labels, found) == 1.0
    reference = KMeans(3, n_init=5, random_state=0).fit(x)
    assert inertia == pytest.approx(reference.inertia_, rel=1e-9)
    np.testing.assert_allclose(np.sort(found_centers, axis=0),
                               np.sort(reference.cluster_centers_, axis=0), rtol=1e-9)


def test_lloyd_steps_match_scikit_learn_from_the_same_start(rng):
    x = rng.normal(size=(300, 5))
    start = clustering.kmeans_plus_plus(x, 4, np.random.default_rng(3))
    labels, centers, inertia = clustering._lloyd(x, start, 300, 0.0)
    reference = KMeans(4, init=start, n_init=1, max_iter=300, tol=0.0,
                       algorithm="lloyd").fit(x)
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_allclose(centers, reference.cluster_centers_, rtol=1e-8, atol=1e-10)
    assert inertia == pytest.approx(reference.inertia_, rel=1e-9)


def test_kmeans_is_seeded_and_checks_k(rng):
    x = rng.normal(size=(100, 3))
    first, second = clustering.kmeans(x, 5, seed=7), clustering.kmeans(x, 5, seed=7)
    np.testing.assert_array_equal(first[0], second[0])
    with pytest.raises(ValueError, match="k must be in 1..100"):
        clustering.kmeans(x, 101)


def test_kmeans_plus_plus_never_repeats_a_point_while_others_are_left():
    x = np.array([[0.0], [0.0], [1.0], [5.0]])
    start = clustering.kmeans_plus_plus(x, 3, np.random.default_rng(0))
    assert sorted(start[:, 0].tolist()) == [0.0, 1.0, 5.0]


def test_kmeans_plus_plus_draws_by_squared_distance():
    # Points 0, 1, 3: after a first centre at 0, the next is 1 with probability
    # 1^2 / (1^2 + 3^2) = 0.1 and 3 with probability 0.9.
    x = np.array([[0.0], [1.0], [3.0]])
    rng = np.random.default_rng(0)
    seconds = [start[1, 0] for start in (clustering.kmeans_plus_plus(x, 2, rng)
                                         for _ in range(3000)) if start[0, 0] == 0.0]
    assert np.mean(np.equal(seconds, 3.0)) == pytest.approx(0.9, abs=0.04)


def test_pca_matches_scikit_learn(rng):
    x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    points, ratios = clustering.pca(x, 2)
    reference = PCA(2).fit(x)
    np.testing.assert_allclose(ratios, reference.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(np.abs(points), np.abs(reference.transform(x)), rtol=1e-7,
                               atol=1e-9)


def test_target_distribution_by_hand():
    # f = (1.4, 0.6); row 0: (0.25 / 1.4, 0.25 / 0.6) normalised = (0.3, 0.7);
    # row 1: (0.81 / 1.4, 0.01 / 0.6) = (405 / 7, 5 / 3) / 100 -> 1215 / 1250 = 0.972
    q = np.array([[0.5, 0.5], [0.9, 0.1]])
    np.testing.assert_allclose(clustering.target_distribution(q), [[0.3, 0.7], [0.972, 0.028]],
                               rtol=1e-12)


def test_target_distribution_sharpens_rows(rng):
    q = rng.dirichlet(np.ones(4), size=50)
    p = clustering.target_distribution(q)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-12)
    # sharper on average: the mean largest share grows
    assert p.max(axis=1).mean() > q.max(axis=1).mean()


@pytest.mark.parametrize("q", [np.ones(3), -np.ones((2, 2))])
def test_target_distribution_refuses_what_is_not_soft_assignments(q):
    with pytest.raises(ValueError, match="target_distribution: expected non-negative"):
        clustering.target_distribution(q)
