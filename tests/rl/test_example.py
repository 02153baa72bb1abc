"""examples/reinforce_cartpole.py runs as a user would run it, on a tiny budget."""
import pathlib
import runpy
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "reinforce_cartpole.py"


def test_reinforce_example_runs(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), "--episodes", "40", "--seed", "1"])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("episode 20: return ") and lines[1].startswith("episode 40: ")
    mean = float(lines[1].rsplit(" ", 1)[1])
    assert mean > 22  # above a random policy's mean return after 40 episodes
