import numpy as np
import pytest

from neuronet import rl


def test_corridor_walk_to_the_goal():
    env = rl.Corridor(length=4, max_steps=10, random_start=False)
    observation, info = env.reset(seed=0)
    np.testing.assert_array_equal(observation, [1, 0, 0, 0])
    assert observation.dtype == np.float32 and info == {"cell": 0}
    assert env.step(0)[1:4] == (-1.0, False, False)  # the wall: stays in cell 0
    for cell in (1, 2):
        observation, reward, terminated, truncated, info = env.step(1)
        assert (reward, terminated, truncated, info["cell"]) == (-1.0, False, False, cell)
    observation, reward, terminated, truncated, _ = env.step(1)
    np.testing.assert_array_equal(observation, [0, 0, 0, 1])
    assert (reward, terminated, truncated) == (-1.0, True, False)
    assert env.optimal_return == -3.0


def test_corridor_truncates_at_max_steps():
    env = rl.Corridor(length=5, max_steps=3, random_start=False)
    env.reset()
    outcomes = [env.step(0)[2:4] for _ in range(3)]
    assert outcomes == [(False, False), (False, False), (False, True)]


def test_corridor_random_start_is_seeded_and_optimal_return_is_its_mean():
    env = rl.Corridor(length=6)
    starts = [env.reset(seed=7)[1]["cell"] for _ in range(3)]
    assert len(set(starts)) == 1
    env.reset(seed=0)
    cells = [env.reset()[1]["cell"] for _ in range(2000)]
    assert set(cells) == {0, 1, 2, 3, 4}
    assert env.optimal_return == -3.0  # -(5 + 4 + 3 + 2 + 1) / 5


def test_corridor_errors():
    with pytest.raises(ValueError, match="length of at least 2 cells, got 1"):
        rl.Corridor(length=1)
    env = rl.Corridor()
    with pytest.raises(RuntimeError, match="reset\\(\\) before step"):
        env.step(1)
    env.reset()
    with pytest.raises(ValueError, match="action 0 \\(left\\) or 1 \\(right\\), got 2"):
        env.step(2)


def test_gym_env_is_gymnasiums_cartpole():
    env = rl.gym_env("CartPole-v1")
    observation, _ = env.reset(seed=0)
    assert observation.shape == env.observation_space.shape == (4,)
    assert env.action_space.n == 2
    assert env.spec.reward_threshold == 475.0 and env.spec.max_episode_steps == 500
