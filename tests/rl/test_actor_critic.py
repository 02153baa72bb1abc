import numpy as np
import pytest

from neuronet import rl


def test_generalized_advantages_hand_worked():
    # r = (1, 1), V = (0.5, 2), terminal, gamma = lambda = 0.5:
    # delta_1 = 1 + 0.5 * 0 - 2 = -1,  delta_0 = 1 + 0.5 * 2 - 0.5 = 1.5,
    # A_1 = -1,  A_0 = 1.5 + 0.25 * (-1) = 1.25
    np.testing.assert_allclose(rl.generalized_advantages([1.0, 1.0], [0.5, 2.0], 0.5, 0.5),
                               [1.25, -1.0], rtol=0, atol=0)


def test_generalized_advantages_limits(rng):
    rewards, values, bootstrap = rng.normal(size=8), rng.normal(size=8), 0.7
    one_step = rewards + 0.9 * np.append(values[1:], bootstrap) - values
    np.testing.assert_allclose(rl.generalized_advantages(rewards, values, 0.9, 0.0, bootstrap),
                               one_step, rtol=1e-12)
    monte_carlo = rl.discounted_returns(rewards, 0.9, bootstrap) - values
    np.testing.assert_allclose(rl.generalized_advantages(rewards, values, 0.9, 1.0, bootstrap),
                               monte_carlo, rtol=1e-10, atol=1e-12)


def test_lambda_one_gives_reinforces_advantages():
    env = rl.Corridor(length=5, max_steps=6, random_start=False)
    critic = rl.seeded_actor_critic(env, 0, hidden=8, lam=1.0)
    reinforce = rl.Reinforce(critic.policy, critic.optimizer, value=critic.value,
                             value_optimizer=critic.value_optimizer)
    episodes = [rl.run_episode(env, critic.act, seed=0) for _ in range(2)]
    for mine, theirs in zip(critic.advantages(episodes), reinforce.advantages(episodes)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lam", [0.0, 0.95])
def test_actor_critic_reaches_the_corridors_optimal_return(lam):
    env = rl.Corridor(length=6, max_steps=50)
    for seed in (0, 1):
        agent = rl.seeded_actor_critic(env, seed, hidden=16, lam=lam)
        history = rl.train(agent, env, 300, seed=seed, window=20,
                           threshold=env.optimal_return - 0.5)
        assert history.solved_at is not None and history.solved_at <= 200, history.solved_at


def test_actor_critic_needs_a_critic():
    policy = rl.mlp(3, 2, hidden=4)
    with pytest.raises(ValueError, match="needs a value model"):
        rl.ActorCritic(policy, None)
    with pytest.raises(ValueError, match="lam in \\[0, 1\\], got 2"):
        rl.ActorCritic(policy, rl.mlp(3, 1, hidden=4), lam=2)
