"""README's examples run as written."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 2


def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", printed).group(1))
    assert accuracy > 0.5  # 3 epochs on 2,000 images: far above chance (0.1)
    assert (tmp_path / "model.safetensors").exists()
    assert namespace["w"].grad.shape == (2,)
