"""An advantage actor-critic: REINFORCE's update with the critic's bootstrapped
advantages (GAE(lambda)) in place of the Monte-Carlo ones.

    delta_t = r_t + gamma V(s_{t+1}) - V(s_t)          (V(s_T) = 0 if terminal)
    A_t     = sum_k (gamma lambda)^k delta_{t+k}        (``returns.generalized_advantages``)
    actor:  L = -sum_t log pi(a_t|s_t) A_t - beta sum_t H(pi(.|s_t))
    critic: L_V = 1/2 sum_t (V(s_t) - (A_t + V(s_t)))^2  (targets held fixed)

lambda trades bias for variance: 0 is the one-step actor-critic (each advantage one
TD error, low variance, biased by V), 1 is REINFORCE with the baseline V.
"""
import numpy

from neuronet import optimizers
from neuronet.random import manual_seed
from neuronet.rl import returns
from neuronet.rl.reinforce import Reinforce, mlp


class ActorCritic(Reinforce):
    """``Reinforce`` whose advantages are GAE(lambda) of its critic (the value model).

    Args:
        policy, optimizer, gamma, value, value_optimizer, entropy, seed: as ``Reinforce``
            (``value`` is required).
        lam: GAE's lambda in [0, 1].
        normalize: scale the advantages to mean 0 and standard deviation 1 (default no).
    """

    def __init__(self, policy, value, optimizer=None, value_optimizer=None, gamma=0.99,
                 lam=0.95, normalize=False, entropy=0.0, seed=0):
        if value is None:
            raise ValueError("ActorCritic needs a value model (the critic)")
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"ActorCritic expects lam in [0, 1], got {lam}")
        super().__init__(policy, optimizer, gamma, value, value_optimizer, normalize,
                         entropy, seed)
        self.lam = lam

    def advantages(self, episodes):
        """(value targets A + V, advantages A) over the episodes' steps, concatenated."""
        targets, advantages = [], []
        for episode in episodes:
            values = self._values(episode.observations)[:, 0]
            bootstrap = 0.0
            if not episode.terminated:
                bootstrap = float(self._values(episode.final_observation[None])[0, 0])
            a = returns.generalized_advantages(episode.rewards, values, self.gamma, self.lam,
                                               bootstrap)
            advantages.append(a)
            targets.append(a + values)
        a = numpy.concatenate(advantages)
        return numpy.concatenate(targets), (returns.normalized(a) if self.normalize else a)


def seeded_actor_critic(env, seed, hidden=128, lr=1e-2, value_lr=1e-2, **options):
    """An ``ActorCritic`` for ``env`` with MLP actor and critic seeded by ``seed``;
    ``options`` go to ``ActorCritic``."""
    manual_seed(seed)
    inputs, actions = env.observation_space.shape[0], env.action_space.n
    policy, value = mlp(inputs, actions, hidden), mlp(inputs, 1, hidden)
    return ActorCritic(policy, value, optimizers.Adam(policy.parameters(), lr=lr),
                       optimizers.Adam(value.parameters(), lr=value_lr), seed=seed, **options)
