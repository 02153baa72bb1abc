import numpy as np
import pytest

from neuronet.rl import returns


def test_discounted_returns_hand_worked():
    # r = (1, 0, 2), gamma = 0.5:  G_2 = 2,  G_1 = 0 + 0.5 * 2 = 1,  G_0 = 1 + 0.5 * 1 = 1.5
    np.testing.assert_allclose(returns.discounted_returns([1.0, 0.0, 2.0], 0.5),
                               [1.5, 1.0, 2.0], rtol=0, atol=0)


def test_discounted_returns_bootstrap_after_truncation():
    # The same rewards cut by a time limit with V(s_3) = 4:  G_2 = 2 + 0.5 * 4 = 4,
    # G_1 = 0 + 0.5 * 4 = 2,  G_0 = 1 + 0.5 * 2 = 2
    np.testing.assert_allclose(returns.discounted_returns([1.0, 0.0, 2.0], 0.5, bootstrap=4.0),
                               [2.0, 2.0, 4.0], rtol=0, atol=0)


def test_discounted_returns_match_the_sum_formula(rng):
    rewards, gamma = rng.normal(size=17), 0.93
    expected = [sum(gamma ** (k - t) * rewards[k] for k in range(t, 17)) for t in range(17)]
    np.testing.assert_allclose(returns.discounted_returns(rewards, gamma), expected, rtol=1e-12)


def test_cartpole_returns_of_ones():
    # Reward 1 per step, gamma 0.99: G_t = (1 - 0.99^(T - t)) / (1 - 0.99)
    g = returns.discounted_returns(np.ones(500), 0.99)
    np.testing.assert_allclose(g, (1 - 0.99 ** np.arange(500, 0, -1)) / 0.01, rtol=1e-12)


def test_discounted_returns_refuse_a_bad_gamma():
    with pytest.raises(ValueError, match="gamma in \\[0, 1\\], got 1.5"):
        returns.discounted_returns([1.0], 1.5)


def test_normalized_has_mean_0_and_std_1(rng):
    values = returns.normalized(rng.normal(3.0, 5.0, size=50))
    assert abs(values.mean()) < 1e-12 and abs(values.std() - 1) < 1e-6
    np.testing.assert_array_equal(returns.normalized([7.0]), [0.0])


def test_running_mean_and_solved_at():
    np.testing.assert_allclose(returns.running_mean([2, 4, 6, 8], window=2), [2, 3, 5, 7])
    # Window 3, threshold 5: the means of the full windows are 4, 6, ...: solved at the 4th.
    assert returns.solved_at([2, 4, 6, 8, 0], threshold=5, window=3) == 4
    # A long start above the threshold does not count before the window is full.
    assert returns.solved_at([9, 9], threshold=5, window=3) is None
    assert returns.solved_at([9, 9, 9], threshold=5, window=3) == 3
