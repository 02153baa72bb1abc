"""Environments: the protocol the agents use (Gymnasium's), and a tiny one of our own.

An environment is any object with Gymnasium's API (``gymnasium.Env``):

    observation, info = env.reset(seed=None)
    observation, reward, terminated, truncated, info = env.step(action)
    env.observation_space.shape      # e.g. (4,)
    env.action_space.n               # the number of discrete actions

``terminated`` says the episode reached a terminal state (no reward follows);
``truncated`` says it was cut by a time limit (the state had a future, which a value
baseline can estimate: see ``neuronet.rl.returns.discounted_returns``). ``reset(seed=s)``
reseeds the environment; ``reset()`` continues its random sequence, so one seed at the
first reset makes a whole run repeat. Gymnasium's environments fit as they are:
``gym_env("CartPole-v1")`` makes one (Gymnasium is the optional extra ``rl``).

``Corridor`` is ours: small, fast, with a known optimal return, so the agents are
tested on dynamics that owe nothing to Gymnasium.
"""
import dataclasses

import numpy


@dataclasses.dataclass(frozen=True)
class Discrete:
    """Actions 0 .. n - 1 (Gymnasium's ``spaces.Discrete`` with start 0)."""

    n: int


@dataclasses.dataclass(frozen=True)
class Box:
    """Real observations of a fixed shape within [low, high] (``spaces.Box``)."""

    shape: tuple
    low: float = -numpy.inf
    high: float = numpy.inf
    dtype: type = numpy.float32


class Corridor:
    """A corridor of ``length`` cells; the agent starts in a random cell left of the
    goal (the last cell) and moves left (action 0) or right (action 1).

    Each step costs a reward of -1; reaching the goal terminates the episode; after
    ``max_steps`` steps it is truncated. The observation is the one-hot cell (float32).
    Walking straight right is optimal: from cell c the return is -(length - 1 - c), so
    the expected optimal return is ``optimal_return`` = -mean(length - 1 - c) over the
    start cells, while a random walk is usually truncated at -max_steps.

    Example:
        >>> env = Corridor(length=5)
        >>> observation, info = env.reset(seed=0)
        >>> observation, reward, terminated, truncated, info = env.step(1)
    """

    def __init__(self, length=6, max_steps=50, random_start=True):
        if length < 2:
            raise ValueError(f"Corridor expects a length of at least 2 cells, got {length}")
        if max_steps < 1:
            raise ValueError(f"Corridor expects max_steps >= 1, got {max_steps}")
        self.length, self.max_steps, self.random_start = length, max_steps, random_start
        self.observation_space = Box((length,), 0.0, 1.0)
        self.action_space = Discrete(2)
        self._rng = numpy.random.default_rng()
        self._cell = self._steps = None

    @property
    def optimal_return(self):
        """The expected return of walking straight right, over the start cells."""
        starts = numpy.arange(self.length - 1) if self.random_start else numpy.zeros(1)
        return -float(numpy.mean(self.length - 1 - starts))

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = numpy.random.default_rng(seed)
        self._cell = int(self._rng.integers(self.length - 1)) if self.random_start else 0
        self._steps = 0
        return self._observation(), {"cell": self._cell}

    def step(self, action):
        if self._cell is None:
            raise RuntimeError("Corridor: call reset() before step()")
        if action not in (0, 1):
            raise ValueError(f"Corridor expects action 0 (left) or 1 (right), got {action!r}")
        self._cell = max(self._cell + (1 if action == 1 else -1), 0)
        self._steps += 1
        terminated = self._cell == self.length - 1
        truncated = not terminated and self._steps >= self.max_steps
        return self._observation(), -1.0, terminated, truncated, {"cell": self._cell}

    def _observation(self):
        observation = numpy.zeros(self.length, dtype=numpy.float32)
        observation[self._cell] = 1.0
        return observation


def gym_env(name="CartPole-v1", **kwargs):
    """``gymnasium.make(name, **kwargs)``; Gymnasium is the optional extra ``rl``
    (``pip install neuronet[rl]``)."""
    try:
        import gymnasium
    except ImportError as error:
        raise ImportError(f"gym_env({name!r}) needs Gymnasium: pip install 'neuronet[rl]' "
                          "(or pip install gymnasium)") from error
    return gymnasium.make(name, **kwargs)
