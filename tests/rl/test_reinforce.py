import numpy as np
import pytest

import neuronet as nn
from neuronet import rl

CORRIDOR_WINDOW = 20


def _train_on_corridor(seed, episodes=300, **options):
    env = rl.Corridor(length=6, max_steps=50)
    agent = rl.seeded_agent(env, seed, hidden=16, **options)
    history = rl.train(agent, env, episodes, seed=seed, window=CORRIDOR_WINDOW,
                       threshold=env.optimal_return - 0.5)
    return env, agent, history


@pytest.mark.parametrize("options", [{}, {"value": True}, {"entropy": 0.01}])
def test_reinforce_reaches_the_corridors_optimal_return_quickly(options):
    for seed in (0, 1):
        env, agent, history = _train_on_corridor(seed, **options)
        # Solved: the mean return of 20 consecutive episodes within 0.5 of the optimum
        # (-3), where a random walk from the same cells averages far below (see below).
        assert history.solved_at is not None and history.solved_at <= 200, history.solved_at
        # The greedy policy then walks straight right from every start cell.
        for cell in range(env.length - 1):
            observation = np.eye(env.length, dtype="float32")[cell]
            assert agent.act_greedy(observation) == 1


def test_a_random_walk_is_far_from_the_corridors_optimum():
    env, rng = rl.Corridor(length=6, max_steps=50), np.random.default_rng(0)
    totals = [rl.run_episode(env, lambda _: int(rng.integers(2)), seed=0 if i == 0 else None)
              .total_reward for i in range(200)]
    assert np.mean(totals) < 2 * env.optimal_return  # below -6; the optimum is -3


def test_training_repeats_with_the_same_seed():
    first = _train_on_corridor(4, episodes=60)[2]
    second = _train_on_corridor(4, episodes=60)[2]
    assert first.returns == second.returns
    other = _train_on_corridor(5, episodes=60)[2]
    assert other.returns != first.returns


def test_update_is_one_adam_step_on_the_policy_gradient_loss():
    """The agent's step equals one written out by hand: the returns, the normalised
    advantages, the loss of ``objectives`` and Adam on the policy's parameters."""
    env = rl.Corridor(length=4, random_start=False)
    agent = rl.seeded_agent(env, 0, hidden=8, lr=0.1, gamma=0.9)
    episode = rl.run_episode(env, agent.act, seed=0)
    nn.manual_seed(0)
    twin = rl.mlp(4, 2, hidden=8)
    twin.set_weights(agent.policy.get_weights())
    optimizer = nn.optimizers.Adam(twin.parameters(), lr=0.1)
    g = rl.discounted_returns(episode.rewards, 0.9)
    advantages = (g - g.mean()) / (g.std() + 1e-8)
    log_pi = nn.ops.log_softmax(twin(episode.observations))
    loss = -(log_pi * np.eye(2, dtype="float32")[episode.actions]).sum(axis=-1)
    (loss * advantages.astype("float32")).sum().backward()
    optimizer.step()
    agent.update([episode])
    for mine, theirs in zip(agent.policy.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)


def test_truncated_episodes_are_bootstrapped_with_the_value_model():
    env = rl.Corridor(length=6, max_steps=3, random_start=False)
    agent = rl.seeded_agent(env, 0, hidden=8, value=True, normalize=False, gamma=0.5)
    episode = rl.run_episode(env, lambda _: 0, seed=0)  # walks into the wall: truncated
    assert not episode.terminated
    values = agent.value(np.concatenate([episode.observations,
                                         episode.final_observation[None]])).numpy()[:, 0]
    g, advantages = agent.advantages([episode])
    expected = rl.discounted_returns(episode.rewards, 0.5, bootstrap=values[-1])
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    np.testing.assert_allclose(advantages, expected - values[:-1], rtol=1e-5, atol=1e-6)


def _random_policy_mean(env, episodes=50):
    rng = np.random.default_rng(0)
    return np.mean([rl.run_episode(env, lambda _: int(rng.integers(2)),
                                   seed=0 if i == 0 else None).total_reward
                    for i in range(episodes)])


def test_reinforce_learns_cartpole_on_a_short_budget():
    """Gymnasium's CartPole-v1, 60 episodes: the mean return of the last 20 is far above
    the random policy's (about 22), with the value baseline (as in `neuronet lab
    reinforce`, which runs until solved) and with normalised returns alone."""
    env = rl.gym_env("CartPole-v1")
    random_mean = _random_policy_mean(env)
    assert 15 < random_mean < 30
    for value in (True, False):
        agent = rl.seeded_agent(env, 0, value=value)
        history = rl.train(agent, env, 60, seed=0)
        # Measured: 106 (value baseline) and 148 (normalised returns).
        assert np.mean(history.returns[-20:]) > 3 * random_mean, (value, history.returns)


def test_advantages_are_normalised_only_without_a_value_model():
    env = rl.Corridor()
    assert rl.seeded_agent(env, 0, hidden=4).normalize
    assert not rl.seeded_agent(env, 0, hidden=4, value=True).normalize
    assert rl.seeded_agent(env, 0, hidden=4, value=True, normalize=True).normalize


def test_episodes_per_update_batches_the_gradient_steps():
    env = rl.Corridor(length=6, max_steps=50)
    agent = rl.seeded_agent(env, 0, hidden=16, lr=0.03)
    batches, update = [], agent.update
    agent.update = lambda episodes: batches.append(len(episodes)) or update(episodes)
    history = rl.train(agent, env, 400, seed=0, window=20, threshold=env.optimal_return - 0.5,
                       episodes_per_update=4)
    assert history.solved_at is not None, history.returns[-20:]
    assert batches == [4] * (history.solved_at // 4)
