import pytest

from neuronet.data import fetch


def _no_network(url, *args, **kwargs):
    raise AssertionError(f"a test tried to download {url}")


@pytest.fixture(autouse=True)
def _offline_and_isolated(monkeypatch, tmp_path):
    """No test touches the network, the user's cache or the user's $NEURONET_DATA."""
    monkeypatch.setenv("NEURONET_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEURONET_DATA", raising=False)
    monkeypatch.setattr(fetch, "urlopen", _no_network)
