"""REINFORCE with a learned baseline on Gymnasium's CartPole-v1, with neuronet's models,
autograd and Adam.

    pip install 'neuronet[rl]'            # Gymnasium
    python examples/reinforce_cartpole.py [--episodes 1000] [--seed 0]

Solved when the mean return of 100 consecutive episodes reaches 475 (Gymnasium's
threshold); with seeds 0, 1 and 2 that took 155 to 196 episodes (``neuronet lab reinforce``).
"""
import argparse

import neuronet as nn
from neuronet import rl


def main(episodes=1000, seed=0):
    env = rl.gym_env("CartPole-v1")
    nn.manual_seed(seed)                              # the initial weights
    policy = rl.mlp(4, 2, hidden=128)                 # Dense(128, relu) -> Dense(2): logits
    value = rl.mlp(4, 1, hidden=128)                  # the baseline V(s)
    agent = rl.Reinforce(policy, nn.optimizers.Adam(policy.parameters(), lr=1e-2),
                         gamma=0.99, value=value,
                         value_optimizer=nn.optimizers.Adam(value.parameters(), lr=1e-2),
                         seed=seed)                   # the action draws
    totals = []
    for index in range(episodes):
        episode = rl.run_episode(env, agent.act, seed=seed if index == 0 else None)
        agent.update([episode])                       # one step on -sum log pi(a|s) (G - V)
        totals.append(episode.total_reward)
        mean = sum(totals[-100:]) / len(totals[-100:])
        if (index + 1) % 20 == 0:
            print(f"episode {index + 1}: return {totals[-1]:.0f}, mean of the last 100 "
                  f"{mean:.1f}")
        if len(totals) >= 100 and mean >= env.spec.reward_threshold:
            print(f"solved after {index + 1} episodes")
            break
    return totals


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(arguments.episodes, arguments.seed)
