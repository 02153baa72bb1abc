"""REINFORCE with a baseline: the policy-gradient agent, and the loop that trains it.

For each episode s_0, a_0, r_0, ..., s_{T-1}, a_{T-1}, r_{T-1} drawn with the policy
pi = softmax(policy(s)):

    G_t = r_t + gamma G_{t+1}                     (``returns.discounted_returns``)
    A_t = G_t - b_t                               b_t = V(s_t) (learned) or none
    A_t <- (A_t - mean A) / std A                 (``normalize``; without a value model)
    L   = -sum_t log pi(a_t|s_t) A_t - beta sum_t H(pi(.|s_t))   (``objectives``)

then one step of the policy's optimizer on dL/dtheta (neuronet's autograd, one forward
pass over the episode's states) and, with a value model, one step of its optimizer on
1/2 sum_t (V(s_t) - G_t)^2. An episode cut by a time limit is bootstrapped with
G_T = V(s_T) when there is a value model (the time limit is not part of the task).

Everything random is seeded: the models' initial weights (``neuronet.manual_seed``
before they are built), the actions (the agent's ``numpy.random.Generator``) and the
environment (``env.reset(seed=seed)`` once, at the first episode).
"""
import dataclasses
import time

import numpy

from neuronet import layers, optimizers
from neuronet.models import Sequential
from neuronet.random import manual_seed
from neuronet.rl import objectives, returns
from neuronet.rl.policy import Predictor, greedy_action, sample_action


@dataclasses.dataclass
class Episode:
    """One episode: T observations, actions and rewards, how it ended, and s_T."""

    observations: numpy.ndarray
    actions: numpy.ndarray
    rewards: numpy.ndarray
    terminated: bool
    final_observation: numpy.ndarray

    @property
    def total_reward(self):
        return float(self.rewards.sum())

    def __len__(self):
        return len(self.rewards)


def run_episode(env, act, seed=None):
    """Play one episode with ``act(observation) -> action`` until it terminates or is
    truncated; ``seed`` goes to ``env.reset`` (None: continue the env's sequence)."""
    observation, _ = env.reset(seed=seed)
    observations, actions, rewards = [], [], []
    while True:
        action = act(observation)
        observations.append(observation)
        actions.append(action)
        observation, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
        if terminated or truncated:
            break
    return Episode(numpy.asarray(observations, dtype=numpy.float32),
                   numpy.asarray(actions, dtype=numpy.int64),
                   numpy.asarray(rewards, dtype=numpy.float64), bool(terminated),
                   numpy.asarray(observation, dtype=numpy.float32))


def mlp(inputs, outputs, hidden=128):
    """Input(inputs) -> Dense(hidden, relu) -> Dense(outputs): a policy (logits) or,
    with one output, a value model."""
    return Sequential([layers.Input((inputs,)), layers.Dense(hidden, activation="relu"),
                       layers.Dense(outputs)])


class Reinforce:
    """REINFORCE with a baseline (see the module docstring).

    Args:
        policy: a built model, observations (N, ...) -> logits (N, n_actions).
        optimizer: its optimizer (default Adam, learning rate 1e-2).
        gamma: the discount factor.
        value: optional built model, observations -> (N, 1) values: the learned
            baseline b_t = V(s_t), also used to bootstrap truncated episodes.
        value_optimizer: its optimizer (default Adam, learning rate 1e-2).
        normalize: scale the advantages to mean 0 and standard deviation 1 per update.
            None (default): only without a value model, where it is the baseline (the
            mean return) and the scale. With a learned baseline the advantages keep their
            size: scaling the small advantages of a good policy up to 1 magnifies their
            noise, and on CartPole-v1 it made solved runs fall apart (``neuronet lab
            reinforce``).
        entropy: the weight beta of the entropy bonus.
        seed: seeds the generator the actions are drawn from.

    Example:
        >>> env = Corridor()
        >>> nn.manual_seed(0)
        >>> agent = Reinforce(mlp(6, 2, hidden=16), seed=0)
        >>> history = train(agent, env, episodes=200, seed=0)
    """

    def __init__(self, policy, optimizer=None, gamma=0.99, value=None, value_optimizer=None,
                 normalize=None, entropy=0.0, seed=0):
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"Reinforce expects gamma in [0, 1], got {gamma}")
        if entropy < 0:
            raise ValueError(f"Reinforce expects an entropy weight >= 0, got {entropy}")
        self.policy, self.value = policy, value
        self.optimizer = optimizer or optimizers.Adam(policy.parameters(), lr=1e-2)
        self.value_optimizer = None
        if value is not None:
            self.value_optimizer = value_optimizer or optimizers.Adam(value.parameters(),
                                                                      lr=1e-2)
        self.normalize = value is None if normalize is None else bool(normalize)
        self.gamma, self.entropy = gamma, entropy
        self.rng = numpy.random.default_rng(seed)
        self._logits = Predictor(policy)
        self._values = None if value is None else Predictor(value)

    def act(self, observation):
        """An action drawn from the policy for one observation."""
        logits = self._logits(numpy.asarray(observation)[None])[0]
        return sample_action(logits, self.rng)

    def act_greedy(self, observation):
        """The policy's most probable action for one observation."""
        return greedy_action(self._logits(numpy.asarray(observation)[None])[0])

    def advantages(self, episodes):
        """(returns G, advantages A) over the episodes' steps, concatenated."""
        all_returns, baselines = [], []
        for episode in episodes:
            bootstrap = 0.0
            if self.value is not None and not episode.terminated:
                bootstrap = float(self._values(episode.final_observation[None])[0, 0])
            all_returns.append(returns.discounted_returns(episode.rewards, self.gamma,
                                                          bootstrap))
            if self.value is not None:
                baselines.append(self._values(episode.observations)[:, 0])
        g = numpy.concatenate(all_returns)
        a = g - numpy.concatenate(baselines) if baselines else g
        return g, (returns.normalized(a) if self.normalize else a)

    def update(self, episodes):
        """One gradient step of the policy (and of the value model) on the episodes;
        returns the losses as floats."""
        g, a = self.advantages(episodes)
        states = numpy.concatenate([episode.observations for episode in episodes])
        actions = numpy.concatenate([episode.actions for episode in episodes])
        scale = 1.0 / len(episodes)
        self.optimizer.zero_grad()
        loss = objectives.policy_gradient_loss(self.policy(states), actions, a,
                                               self.entropy) * scale
        loss.backward()
        self.optimizer.step()
        losses = {"policy_loss": float(loss.item())}
        if self.value is not None:
            self.value_optimizer.zero_grad()
            value_loss = objectives.value_loss(self.value(states), g) * scale
            value_loss.backward()
            self.value_optimizer.step()
            losses["value_loss"] = float(value_loss.item())
        return losses


@dataclasses.dataclass
class History:
    """What ``train`` recorded: each episode's total reward and length, the episode
    the run was solved at (None if not), and the wall time in seconds."""

    returns: list
    lengths: list
    solved_at: int | None
    seconds: float
    threshold: float | None = None
    window: int = 100

    def running_mean(self):
        return returns.running_mean(self.returns, self.window)


def train(agent, env, episodes, seed=0, threshold=None, window=100, episodes_per_update=1,
          stop_when_solved=True, on_episode=None):
    """Train ``agent`` for up to ``episodes`` episodes on ``env``.

    Args:
        seed: ``env.reset(seed=seed)`` at the first episode; later resets continue.
        threshold: the run is solved when the mean total reward of the last ``window``
            episodes first reaches it (``returns.solved_at``); None: never.
        episodes_per_update: episodes per gradient step.
        stop_when_solved: stop at the episode that solves the run.
        on_episode: optional ``on_episode(index, episode, history)`` after each episode.

    Returns:
        a ``History``.
    """
    history = History([], [], None, 0.0, threshold, window)
    started, batch = time.perf_counter(), []
    for index in range(episodes):
        episode = run_episode(env, agent.act, seed=seed if index == 0 else None)
        history.returns.append(episode.total_reward)
        history.lengths.append(len(episode))
        batch.append(episode)
        if len(batch) == episodes_per_update:
            agent.update(batch)
            batch = []
        if on_episode is not None:
            on_episode(index, episode, history)
        if history.solved_at is None and _solved(history.returns, threshold, window):
            history.solved_at = index + 1
            if stop_when_solved:
                break
    history.seconds = time.perf_counter() - started
    return history


def _solved(totals, threshold, window):
    """Whether the last ``window`` totals (all of them there) average >= threshold."""
    return (threshold is not None and len(totals) >= window
            and float(numpy.mean(totals[-window:])) >= threshold)


def seeded_agent(env, seed, hidden=128, lr=1e-2, value=False, value_lr=1e-2, **options):
    """A ``Reinforce`` agent for ``env`` with MLP models seeded by ``seed``: the policy
    Dense(hidden, relu) -> Dense(n_actions) and, with ``value``, a value model of the
    same shape with one output; ``options`` go to ``Reinforce``."""
    manual_seed(seed)
    inputs, actions = env.observation_space.shape[0], env.action_space.n
    policy = mlp(inputs, actions, hidden)
    value_model = value_optimizer = None
    if value:
        value_model = mlp(inputs, 1, hidden)
        value_optimizer = optimizers.Adam(value_model.parameters(), lr=value_lr)
    return Reinforce(policy, optimizers.Adam(policy.parameters(), lr=lr), value=value_model,
                     value_optimizer=value_optimizer, seed=seed, **options)
