"""Discounted returns, their normalisation, and when a run counts as solved.

    G_t = r_t + gamma * G_{t+1},  G_T = bootstrap

for an episode of T rewards r_0 .. r_{T-1}: the bootstrap is 0 after a terminal state
and, after a time limit cut the episode (Gymnasium's ``truncated``), an estimate of the
return the episode would still have earned (a value baseline's V(s_T)); the time limit
is not part of the task, so without it the last states of a long episode would look bad.
"""
import numpy


def discounted_returns(rewards, gamma, bootstrap=0.0):
    """G_t = sum_{k >= t} gamma^(k - t) r_k + gamma^(T - t) * bootstrap, in float64.

    Args:
        rewards: the episode's T rewards.
        gamma: the discount factor in [0, 1].
        bootstrap: the value of the state after the last reward (0 when terminal).

    Example:
        >>> discounted_returns([1.0, 1.0, 1.0], 0.5)
        array([1.75, 1.5 , 1.  ])
    """
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"discounted_returns expects gamma in [0, 1], got {gamma}")
    rewards = numpy.asarray(rewards, dtype=numpy.float64)
    returns = numpy.empty_like(rewards)
    running = float(bootstrap)
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def normalized(values, epsilon=1e-8):
    """(v - mean(v)) / (std(v) + epsilon): the batch's own baseline and scale (the
    population standard deviation; a single value becomes 0)."""
    values = numpy.asarray(values, dtype=numpy.float64)
    return (values - values.mean()) / (values.std() + epsilon)


def running_mean(values, window=100):
    """The mean of the last ``window`` values at each episode (of fewer at the start)."""
    values = numpy.asarray(values, dtype=numpy.float64)
    sums = numpy.cumsum(numpy.insert(values, 0, 0.0))
    ends = numpy.arange(1, len(values) + 1)
    starts = numpy.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def solved_at(returns, threshold=475.0, window=100):
    """The number of episodes run when the mean return of the last ``window`` episodes
    first reached ``threshold`` (Gymnasium's criterion: CartPole-v1 is solved at a mean
    of 475 over 100 consecutive episodes), or None. The first ``window - 1`` episodes
    cannot solve it: the mean needs ``window`` episodes."""
    means = running_mean(returns, window)[window - 1:]
    reached = numpy.flatnonzero(means >= threshold)
    return int(reached[0]) + window if len(reached) else None


def generalized_advantages(rewards, values, gamma, lam, bootstrap=0.0):
    """GAE(lambda) (Schulman et al. 2016): A_t = sum_k (gamma lambda)^k delta_{t+k} with
    the temporal-difference errors delta_t = r_t + gamma V(s_{t+1}) - V(s_t), and
    V(s_T) = bootstrap (0 after a terminal state).

    lambda = 0 gives the one-step actor-critic's delta_t; lambda = 1 gives
    G_t - V(s_t), REINFORCE's advantage with the same baseline. The value targets are
    A_t + V(s_t) (the lambda-returns).
    """
    values = numpy.asarray(values, dtype=numpy.float64)
    rewards = numpy.asarray(rewards, dtype=numpy.float64)
    if values.shape != rewards.shape:
        raise ValueError(f"generalized_advantages expects one value per reward, got "
                         f"{values.shape} values for {rewards.shape} rewards")
    following = numpy.append(values[1:], bootstrap)
    deltas = rewards + gamma * following - values
    return discounted_returns(deltas, gamma * lam)
