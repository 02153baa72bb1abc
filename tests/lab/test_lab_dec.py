import numpy as np

from neuronet import clustering, layers, models
from neuronet.lab import dec
from neuronet.random import manual_seed


def _blobs(rng, spread):
    labels = np.repeat(np.arange(3), 40)
    return labels, (np.eye(3)[labels] * 3 + rng.normal(size=(120, 3)) * spread).astype(
        np.float32)


def _encoder():
    manual_seed(0)
    inputs = layers.Input(shape=(3,))
    return models.Model(inputs, layers.Dense(2)(inputs))


def test_fine_tuning_keeps_separated_blobs_and_stops_early(rng):
    labels, x = _blobs(rng, 0.3)
    model, rounds = dec.fine_tune(_encoder(), x, 3, seed=0)
    assert clustering.cluster_accuracy(labels, model.predict(x).argmax(axis=1)) == 1.0
    assert rounds < dec.ROUNDS


def test_self_training_sharpens_the_soft_assignments(rng, monkeypatch):
    """The KL rounds pull each code towards its confident centre: the mean largest
    q_ij grows against the k-means start (no rounds). Small batches give a round of
    120 points several steps; tolerance 0 runs every round."""
    _, x = _blobs(rng, 1.0)
    monkeypatch.setattr(dec, "ROUNDS", 0)
    start, _ = dec.fine_tune(_encoder(), x, 3, seed=0)
    monkeypatch.setattr(dec, "ROUNDS", 5)
    monkeypatch.setattr(dec, "BATCH_SIZE", 8)
    monkeypatch.setattr(dec, "TOLERANCE", 0.0)
    tuned, rounds = dec.fine_tune(_encoder(), x, 3, seed=0)
    assert rounds == 5
    assert tuned.predict(x).max(axis=1).mean() > start.predict(x).max(axis=1).mean() + 0.01
