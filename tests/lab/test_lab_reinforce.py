import json
import re

import numpy as np

from lab_checks import check_figures, spread_text, table
from neuronet import cli
from neuronet.lab import reinforce
from neuronet.rl import returns


def _run(tmp_path, capsys, *options):
    out = tmp_path / "reinforce"
    status = cli.main(["lab", "reinforce", *options, "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Traceback" not in captured.err
    markdown = (out / "report.md").read_text(encoding="utf-8")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"),
                         parse_constant=lambda constant: 1 / 0)
    check_figures(out, markdown)
    assert re.search(rf"This experiment took {results['seconds']:.1f} s\.", markdown)
    return markdown, results


def _number(value):
    return "-" if value is None else f"{value:.1f}"


def test_quick_run_report_matches_results(tmp_path, capsys):
    markdown, results = _run(tmp_path, capsys, "--quick")
    assert results["seeds"] == 1 and results["threshold"] == 475.0
    (entry,) = results["runs"]
    assert entry["episodes_run"] == len(entry["returns"]) == reinforce.QUICK["episodes"]
    assert entry["episodes_to_solve"] is None  # 30 episodes cannot fill a window of 100
    assert len(entry["evaluation_returns"]) == reinforce.QUICK["evaluation_episodes"]
    np.testing.assert_allclose(entry["evaluation_mean_return"],
                               np.mean(entry["evaluation_returns"]))
    np.testing.assert_allclose(entry["last_window_mean"], np.mean(entry["returns"]))
    assert 15 < results["random_policy_mean_return"] < 30
    (row,) = table(markdown, "seed")
    assert row["episodes to solve"] == "not solved"
    assert row["mean of the last 100"] == _number(entry["last_window_mean"])
    assert row["evaluation mean return"] == _number(entry["evaluation_mean_return"])
    assert row["steps"] == str(entry["steps"]) and row["best 100-episode mean"] == "-"
    assert row["training time (s)"] == f"{entry['seconds']:.1f}"
    for sentence in results["conclusions"]:
        assert sentence in markdown
    assert f"A random policy averages {results['random_policy_mean_return']:.1f}" in markdown


def test_two_seeds_differ_and_repeat(tmp_path, capsys):
    options = ["--episodes", "8", "--seeds", "2", "--evaluation-episodes", "0"]
    _, first = _run(tmp_path / "a", capsys, *options)
    _, again = _run(tmp_path / "b", capsys, *options)
    assert [entry["returns"] for entry in first["runs"]] == \
        [entry["returns"] for entry in again["runs"]]
    assert first["runs"][0]["returns"] != first["runs"][1]["returns"]
    assert all(entry["evaluation_mean_return"] is None for entry in first["runs"])


def test_conclusions_of_solved_seeds():
    settings = reinforce.ReinforceSettings(episodes=2000, seeds=3)
    runs = [{"seed": seed, "episodes_to_solve": solved, "last_window_mean": last,
             "episodes_run": solved or 2000, "evaluation_mean_return": evaluation}
            for seed, solved, last, evaluation in [(0, 400, 480.0, 490.0),
                                                   (1, 1200, 476.0, 470.0),
                                                   (2, None, 200.0, 150.0)]]
    summary = {"threshold": 475.0, "random_policy_mean_return": 20.0, "solved_seeds": 2,
               "seeds": 3, "episodes_to_solve": reinforce.common.spread([400, 1200])}
    sentences = reinforce._conclusions(settings, summary, runs)
    assert sentences[0] == (f"Solved (mean return >= 475 over 100 consecutive episodes) on 2 "
                            f"of 3 seed(s), after {spread_text(summary['episodes_to_solve'], 0)}"
                            " episodes (at most 1200): beyond the about 1000 episodes of "
                            "PyTorch's REINFORCE example.")
    assert sentences[1] == "1 seed(s) did not solve it within 2000 episodes."
    assert "the last 100 training episodes of the best seed (0) average 480.0, 24.0 times" \
        in sentences[2]
    assert sentences[3].endswith("average from 150.0 to 490.0.")
    equal = [dict(entry, evaluation_mean_return=500.0) for entry in runs]
    assert reinforce._conclusions(settings, summary, equal)[3].endswith("average 500.0.")
    assert sentences[4].startswith("Below 475 there (seed 1: 470.0 against 476.0 in the 100 "
                                   "training episodes")  # seed 2 is not solved
    assert len(sentences) == 5


def test_episodes_to_solve_is_gymnasiums_criterion():
    # The trailing mean over 100 episodes reaches 475 when the 100th episode of 500s ends.
    totals = [20.0] * 50 + [500.0] * 120
    first = returns.solved_at(totals, 475.0, 100)
    means = returns.running_mean(totals, 100)
    assert means[first - 1] >= 475 > means[first - 2]
    assert first == 50 + 95  # 95 episodes of 500 and 5 of 20 average 476


def test_actor_critic_run(tmp_path, capsys):
    markdown, results = _run(tmp_path, capsys, "--agent", "actor-critic", "--episodes", "5",
                             "--seeds", "1", "--evaluation-episodes", "1")
    assert markdown.startswith("# Lab: advantage actor-critic on CartPole-v1\n")
    setup = {row["setting"]: row["value"] for row in table(markdown, "setting")}
    assert setup["agent"] == "advantage actor-critic"
    assert setup["advantages"] == "GAE(lambda = 0.95), as they are"
    assert results["settings"]["agent"] == "actor-critic"
    assert results["runs"][0]["episodes_run"] == 5


def test_actor_critic_refuses_to_drop_its_critic(tmp_path, capsys):
    status = cli.main(["lab", "reinforce", "--agent", "actor-critic", "--no-value-baseline",
                       "--out", str(tmp_path / "x")])
    captured = capsys.readouterr()
    assert status != 0 and "Traceback" not in captured.err
    assert "the actor-critic needs its critic" in captured.err
    assert not (tmp_path / "x").exists()
