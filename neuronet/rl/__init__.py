"""Reinforcement learning with neuronet's models, autograd and optimizers.

    envs         the environment protocol (Gymnasium's API), ``Corridor`` (ours, with a
                 known optimal return) and ``gym_env`` (Gymnasium, the extra ``rl``)
    returns      discounted returns, normalisation, running means, the solved criterion
    objectives   the policy-gradient loss (log_softmax, entropy bonus) and the value loss
    policy       cheap per-step forward passes (``Predictor``) and action draws
    reinforce    REINFORCE with a baseline (``Reinforce``), ``run_episode``, ``train``
    actor_critic an advantage actor-critic (``ActorCritic``, GAE(lambda) advantages)

Example (CartPole-v1, Gymnasium installed):
    >>> from neuronet import rl
    >>> env = rl.gym_env("CartPole-v1")
    >>> agent = rl.seeded_agent(env, seed=0)
    >>> history = rl.train(agent, env, episodes=1000, seed=0, threshold=475)
"""
from neuronet.rl.actor_critic import ActorCritic, seeded_actor_critic
from neuronet.rl.envs import Box, Corridor, Discrete, gym_env
from neuronet.rl.policy import Predictor, greedy_action, sample_action
from neuronet.rl.reinforce import (Episode, History, Reinforce, mlp, run_episode, seeded_agent,
                                   train)
from neuronet.rl.returns import (discounted_returns, generalized_advantages, normalized,
                                 running_mean, solved_at)
