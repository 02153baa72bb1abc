"""``neuronet lab reinforce``: REINFORCE with a baseline (or, with ``--agent
actor-critic``, an advantage actor-critic) on Gymnasium's CartPole-v1.

The course's third kind of learning, "teaching how to play a game": a policy network
(Dense(128, relu) -> Dense(2), neuronet) learns to balance the pole from the rewards
alone (+1 per step, at most 500 steps), with ``neuronet.rl.Reinforce``. Each seed
(0 .. K-1) fixes the initial weights, the action draws and the environment's starts.

    solved     Gymnasium's criterion: the mean return of 100 consecutive episodes
               reaches the environment's threshold (475 for CartPole-v1); a seed's
               "episodes to solve" is the number of episodes run when that happens
    random     the mean return of a uniformly random policy (100 episodes), the floor
    evaluation the trained policy (actions drawn as in training, no updates) on 100
               fresh episodes: that the solved policy stays solved

The budget is in episodes, not epochs and images, so this command takes its own
options (``add_command``) instead of the data-set budget of the other experiments.
"""
import dataclasses
import time

import numpy

from neuronet.argtypes import NON_NEGATIVE_INT, POSITIVE_FLOAT, POSITIVE_INT
from neuronet.lab import common, figures
from neuronet.rl import actor_critic, envs, reinforce, returns

ANCHOR_EPISODES = 1000  # PyTorch's REINFORCE example solves CartPole within about this
AGENTS = {"reinforce": "REINFORCE with a baseline", "actor-critic": "advantage actor-critic"}
METHODS = {
    "reinforce": (
        "REINFORCE with a baseline: after each episode, the returns G_t = r_t + gamma "
        "G_{t+1}, the advantages A_t = G_t - b_t, and one Adam step on L = -sum_t "
        "log pi(a_t|s_t) A_t - beta sum_t H(pi(.|s_t)) through neuronet's autograd "
        "(log_softmax over the policy's logits, one forward pass over the episode's "
        "states). The baseline b_t = V(s_t) is a value model that takes one Adam step on "
        "1/2 sum_t (V(s_t) - G_t)^2 and bootstraps an episode cut at the time limit "
        "(G_T = V(s_T)); without it, the returns are normalised to mean 0 and standard "
        "deviation 1, their mean being the baseline."),
    "actor-critic": (
        "An advantage actor-critic: REINFORCE's update, one Adam step per episode on "
        "L = -sum_t log pi(a_t|s_t) A_t - beta sum_t H(pi(.|s_t)) through neuronet's "
        "autograd, with the critic's GAE(lambda) advantages A_t = sum_k (gamma lambda)^k "
        "delta_{t+k}, delta_t = r_t + gamma V(s_{t+1}) - V(s_t), in place of the "
        "Monte-Carlo G_t - V(s_t); the critic V takes one Adam step on "
        "1/2 sum_t (V(s_t) - (A_t + V(s_t)))^2."),
}
QUICK = {"episodes": 30, "seeds": 1, "evaluation_episodes": 5}


@dataclasses.dataclass(frozen=True)
class ReinforceSettings:
    """The budget and the agent of one run (the command line's options)."""

    env: str = "CartPole-v1"
    agent: str = "reinforce"
    episodes: int = 2000
    seeds: int = 3
    evaluation_episodes: int = 100
    hidden: int = 128
    learning_rate: float = 1e-2
    value_baseline: bool = True
    normalize: bool = False
    entropy: float = 0.0
    gamma: float = 0.99
    lam: float = 0.95
    window: int = 100
    out: str = "lab"

    @property
    def seed_list(self):
        return list(range(self.seeds))


def add_command(experiments):
    """Register ``lab reinforce`` on the lab's subcommands."""
    base = ReinforceSettings()
    parser = experiments.add_parser("reinforce", help="REINFORCE with a baseline on "
                                                      "Gymnasium's CartPole-v1")
    parser.add_argument("--env", default=base.env, help=f"a Gymnasium environment with "
                        f"discrete actions (default {base.env})")
    parser.add_argument("--agent", choices=AGENTS, default=base.agent,
                        help="REINFORCE with a baseline, or an actor-critic with GAE(lambda "
                             f"{base.lam:g}) advantages (default {base.agent})")
    parser.add_argument("--episodes", type=POSITIVE_INT, metavar="N", default=base.episodes,
                        help=f"at most N episodes per seed; a seed stops when solved "
                             f"(default {base.episodes})")
    parser.add_argument("--seeds", type=POSITIVE_INT, metavar="K", default=base.seeds,
                        help=f"train with seeds 0..K-1 (default {base.seeds})")
    parser.add_argument("--evaluation-episodes", type=NON_NEGATIVE_INT, metavar="N",
                        default=base.evaluation_episodes,
                        help=f"episodes of the trained policy (default "
                             f"{base.evaluation_episodes})")
    parser.add_argument("--lr", type=POSITIVE_FLOAT, metavar="X", default=base.learning_rate,
                        help=f"Adam's learning rate (default {base.learning_rate:g})")
    parser.add_argument("--hidden", type=POSITIVE_INT, metavar="N", default=base.hidden,
                        help=f"hidden units of the policy and value MLPs (default "
                             f"{base.hidden})")
    parser.add_argument("--entropy", type=float, metavar="BETA", default=base.entropy,
                        help=f"weight of the entropy bonus (default {base.entropy:g})")
    parser.add_argument("--no-value-baseline", action="store_true",
                        help="no learned value baseline: normalised returns")
    parser.add_argument("--normalize", action="store_true",
                        help="normalise the advantages of the value baseline too")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: " + ", ".join(f"{key.replace('_', ' ')} {value}"
                                                         for key, value in QUICK.items()))
    parser.add_argument("--out", metavar="DIR",
                        help="default: runs/lab-reinforce-<env>-<timestamp>")
    parser.set_defaults(handler=command)


def command(args):
    out = args.out or f"runs/lab-reinforce-{args.env}-{time.strftime('%Y%m%d-%H%M%S')}"
    budget = QUICK if args.quick else {"episodes": args.episodes, "seeds": args.seeds,
                                       "evaluation_episodes": args.evaluation_episodes}
    if args.entropy < 0:
        raise ValueError(f"lab reinforce: --entropy must be >= 0, got {args.entropy}")
    if args.agent == "actor-critic" and args.no_value_baseline:
        raise ValueError("lab reinforce: the actor-critic needs its critic: drop "
                         "--no-value-baseline")
    settings = ReinforceSettings(env=args.env, agent=args.agent, hidden=args.hidden,
                                 learning_rate=args.lr,
                                 value_baseline=not args.no_value_baseline,
                                 normalize=args.normalize or args.no_value_baseline,
                                 entropy=args.entropy, out=out, **budget)
    results = run(settings)
    print(f"lab reinforce: {results['seconds']:.1f} s; report: {out}/report.md (also "
          "report.html, results.json)")
    return 0


def run(settings):
    """Train one agent per seed until solved (or out of episodes), evaluate it, report.

    Returns:
        the results written to results.json.
    """
    lab = common.Experiment("reinforce", f"Lab: {AGENTS[settings.agent]} on {settings.env}",
                            settings)
    env = envs.gym_env(settings.env)
    threshold = env.spec.reward_threshold
    if threshold is None:
        raise ValueError(f"lab reinforce: {settings.env} has no reward threshold to solve")
    random_mean = float(numpy.mean(_play(env, lambda _, rng: int(rng.integers(
        env.action_space.n)), episodes=100, seed=12345)))
    lab.log(f"random policy: mean return {random_mean:.1f} over 100 episodes")
    runs = [_train_seed(lab, settings, threshold, seed) for seed in settings.seed_list]
    solved = [entry["episodes_to_solve"] for entry in runs if entry["episodes_to_solve"]]
    summary = {"threshold": threshold, "random_policy_mean_return": random_mean,
               "solved_seeds": len(solved), "seeds": settings.seeds,
               "episodes_to_solve": common.spread(solved) if solved else None,
               "training_seconds": common.spread([entry["seconds"] for entry in runs])}
    conclusions = _conclusions(settings, summary, runs)
    _write_report(lab, settings, summary, runs, conclusions)
    return lab.finish({**summary, "runs": runs, "conclusions": conclusions})


def _play(env, choose, episodes, seed):
    """Total rewards of ``episodes`` episodes with ``choose(observation, rng)``."""
    rng = numpy.random.default_rng(seed)
    return [reinforce.run_episode(env, lambda observation: choose(observation, rng),
                                  seed=seed if index == 0 else None).total_reward
            for index in range(episodes)]


def _train_seed(lab, settings, threshold, seed):
    env = envs.gym_env(settings.env)
    agent = _agent(settings, env, seed)

    def progress(index, episode, history):
        if (index + 1) % 100 == 0:
            lab.log(f"seed {seed}: episode {index + 1}, mean return of the last "
                    f"{settings.window} {history.running_mean()[-1]:.1f}")
    history = reinforce.train(agent, env, settings.episodes, seed=seed, threshold=threshold,
                              window=settings.window, on_episode=progress)
    evaluation = _play(env, lambda observation, _: agent.act(observation),
                       settings.evaluation_episodes, seed=1000 + seed)
    means = history.running_mean()
    full = means[settings.window - 1:]
    entry = {"seed": seed, "episodes_to_solve": history.solved_at,
             "episodes_run": len(history.returns), "steps": int(sum(history.lengths)),
             "seconds": history.seconds, "returns": history.returns,
             "best_window_mean": float(full.max()) if len(full) else None,
             "last_window_mean": float(means[-1]),
             "evaluation_mean_return": float(numpy.mean(evaluation)) if evaluation else None,
             "evaluation_returns": evaluation}
    lab.log(f"seed {seed}: solved at episode {history.solved_at} ({history.seconds:.1f} s, "
            f"{entry['steps']} steps); evaluation mean {entry['evaluation_mean_return']}")
    return entry


def _agent(settings, env, seed):
    options = {"hidden": settings.hidden, "lr": settings.learning_rate,
               "value_lr": settings.learning_rate, "gamma": settings.gamma,
               "entropy": settings.entropy, "normalize": settings.normalize}
    if settings.agent == "actor-critic":
        return actor_critic.seeded_actor_critic(env, seed, lam=settings.lam, **options)
    return reinforce.seeded_agent(env, seed, value=settings.value_baseline, **options)


def _number(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def _conclusions(settings, summary, runs):
    sentences = []
    solved, count = summary["solved_seeds"], summary["seeds"]
    if solved:
        worst = max(entry["episodes_to_solve"] for entry in runs if entry["episodes_to_solve"])
        episodes = common.format_spread(summary["episodes_to_solve"], 0)
        anchor = ("within" if worst <= ANCHOR_EPISODES else "beyond")
        sentences.append(
            f"Solved (mean return >= {summary['threshold']:g} over {settings.window} "
            f"consecutive episodes) on {solved} of {count} seed(s), after {episodes} episodes "
            f"(at most {worst}): {anchor} the about {ANCHOR_EPISODES} episodes of PyTorch's "
            "REINFORCE example.")
    else:
        sentences.append(f"Not solved within {settings.episodes} episodes on any of the "
                         f"{count} seed(s).")
    if solved < count and solved:
        sentences.append(f"{count - solved} seed(s) did not solve it within "
                         f"{settings.episodes} episodes.")
    best = max(runs, key=lambda entry: entry["last_window_mean"])
    last = min(settings.window, best["episodes_run"])
    random_mean = summary["random_policy_mean_return"]
    sentences.append(f"A random policy averages {random_mean:.1f}; the last {last} training "
                     f"episodes of the best seed ({best['seed']}) average "
                     f"{best['last_window_mean']:.1f}, {best['last_window_mean'] / random_mean:.1f}"
                     " times as much.")
    evaluated = [entry["evaluation_mean_return"] for entry in runs
                 if entry["evaluation_mean_return"] is not None]
    if evaluated:
        low, high = min(evaluated), max(evaluated)
        spread = f"{low:.1f}" if f"{low:.1f}" == f"{high:.1f}" else f"from {low:.1f} to {high:.1f}"
        sentences.append(f"Run for {settings.evaluation_episodes} more episodes without "
                         f"updates, the trained policies average {spread}.")
        below = [entry for entry in runs if entry["episodes_to_solve"]
                 and entry["evaluation_mean_return"] is not None
                 and entry["evaluation_mean_return"] < summary["threshold"]]
        if below:
            facts = "; ".join(f"seed {entry['seed']}: {entry['evaluation_mean_return']:.1f} "
                              f"against {entry['last_window_mean']:.1f}" for entry in below)
            sentences.append(f"Below {summary['threshold']:g} there ({facts} in the "
                             f"{settings.window} training episodes that solved it): those "
                             "episodes were played by a policy still being updated, and the "
                             "final one alone does worse.")
    return sentences


def _write_report(lab, settings, summary, runs, conclusions):
    report = lab.report
    report.paragraph(METHODS[settings.agent])
    report.heading("Setup")
    critic = settings.agent == "actor-critic"
    baseline = (f"learned value V(s), Dense({settings.hidden}, relu) -> Dense(1)"
                if settings.value_baseline or critic else "none (normalised returns only)")
    advantages = "normalised per episode" if settings.normalize else "as they are"
    if critic:
        advantages = f"GAE(lambda = {settings.lam:g}), " + advantages
    report.table(["setting", "value"], [
        ("environment", f"{settings.env} (Gymnasium)"),
        ("agent", AGENTS[settings.agent]),
        ("solved when", f"mean return >= {summary['threshold']:g} over {settings.window} "
                        "consecutive episodes"),
        ("episodes per seed", f"at most {settings.episodes} (a seed stops when solved)"),
        ("seeds", f"{settings.seeds} ({', '.join(map(str, settings.seed_list))})"),
        ("policy", f"Dense({settings.hidden}, relu) -> Dense(actions), softmax"),
        ("baseline", baseline),
        ("advantages", advantages),
        ("optimizer", f"Adam, learning rate {settings.learning_rate:g} (policy and value)"),
        ("discount gamma", f"{settings.gamma:g}"),
        ("entropy weight beta", f"{settings.entropy:g}"),
        ("updates", "one per episode (one forward pass over its states)")])
    report.heading("Results")
    report.table(["seed", "episodes to solve", f"best {settings.window}-episode mean",
                  f"mean of the last {settings.window}", "evaluation mean return",
                  "steps", "training time (s)"],
                 [[entry["seed"], entry["episodes_to_solve"] or "not solved",
                   _number(entry["best_window_mean"]), _number(entry["last_window_mean"]),
                   _number(entry["evaluation_mean_return"]), entry["steps"],
                   f"{entry['seconds']:.1f}"] for entry in runs])
    for sentence in conclusions:
        report.paragraph(sentence)
    report.figure(_curves(settings, summary, runs), "learning_curves.png",
                  f"Return of each episode and its mean over the last {settings.window}, per "
                  f"seed; dashed: the threshold {summary['threshold']:g}; dotted: a random "
                  "policy's mean")


def _curves(settings, summary, runs):
    figure, axes = figures.new_figure(columns=len(runs), width=5.0, height=3.8,
                                      title=f"{AGENTS[settings.agent]} on {settings.env}")
    for ax, entry in zip(axes, runs):
        episodes = numpy.arange(1, len(entry["returns"]) + 1)
        ax.plot(episodes, entry["returns"], color="tab:blue", alpha=0.35, linewidth=0.8,
                label="episode return")
        ax.plot(episodes, returns.running_mean(entry["returns"], settings.window),
                color="tab:blue", linewidth=2, label=f"mean of last {settings.window}")
        ax.axhline(summary["threshold"], color="tab:green", linestyle="--",
                   label=f"threshold {summary['threshold']:g}")
        ax.axhline(summary["random_policy_mean_return"], color="gray", linestyle=":",
                   label="random policy")
        solved = entry["episodes_to_solve"]
        title = f"seed {entry['seed']}: " + (f"solved at episode {solved}" if solved
                                             else "not solved")
        if solved:
            ax.axvline(solved, color="tab:red", linewidth=1, label="solved")
        figures.label_axes(ax, title, "episode", "return (steps balanced)")
    return figure
