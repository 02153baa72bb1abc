"""Masks from Embedding(mask_zero=True) and Masking reach the recurrent layers through
Layer.__call__ (``neuronet.layers.masks``): a padded batch gives what each unpadded
sequence gives alone, and pooling after ``return_sequences`` ignores the padded steps."""
import numpy as np
import pytest

from neuronet import layers, models
from neuronet.layers import masks

VOCAB, DIM, UNITS = 12, 4, 5
LENGTHS = [3, 6, 1, 4]
STEPS = max(LENGTHS)


def _sequences(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(1, VOCAB, size=n) for n in LENGTHS]


def _padded(sequences, side):
    ids = np.zeros((len(sequences), STEPS), dtype=np.int64)
    for row, seq in enumerate(sequences):
        if side == "right":
            ids[row, :len(seq)] = seq
        else:
            ids[row, STEPS - len(seq):] = seq
    return ids


def _recurrent(kind, **kwargs):
    if kind == "bidirectional":
        return layers.Bidirectional(layers.LSTM(UNITS, **kwargs))
    return getattr(layers, kind)(UNITS, **kwargs)


def _model(kind, *tail, **kwargs):
    embedding = layers.Embedding(VOCAB, DIM, mask_zero=True)
    model = models.Sequential([embedding, _recurrent(kind, **kwargs), *tail])
    model(_padded(_sequences(), "right"))  # build once, then reuse the same weights
    return model


def _alone(model, seq):
    """The model on one unpadded sequence, its layers called one by one with no mask."""
    x = seq[None, :]
    for layer in model.layers:
        x = layer(x)
        masks.set_mask(x, None)  # an all-True mask: drop it, so no masking is involved
    return x.numpy()[0]


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN", "bidirectional"])
def test_embedding_mask_zero_skips_padding(kind, side):
    model = _model(kind)
    sequences = _sequences()
    batch = model(_padded(sequences, side)).numpy()
    for row, seq in enumerate(sequences):
        np.testing.assert_allclose(batch[row], _alone(model, seq), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{kind}, {side}-padded row {row} (length {len(seq)})")


def test_without_mask_padding_changes_the_output():
    """The test above can fail: with mask_zero=False the padded steps count."""
    model = _model("LSTM")
    model.layers[0].mask_zero = False
    sequences = _sequences()
    batch = model(_padded(sequences, "left")).numpy()
    assert not np.allclose(batch[0], _alone(model, sequences[0]), atol=1e-4)


@pytest.mark.parametrize("kind", ["LSTM", "bidirectional"])
def test_average_pooling_after_sequences_ignores_masked_steps(kind):
    model = _model(kind, layers.GlobalAveragePooling1D(), return_sequences=True)
    sequences = _sequences(1)
    batch = model(_padded(sequences, "right")).numpy()
    for row, seq in enumerate(sequences):
        np.testing.assert_allclose(batch[row], _alone(model, seq), rtol=1e-5, atol=1e-6)


def test_masking_layer_feeds_gru():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5, 2)).astype(np.float32)
    x[0, 3:] = 0.0
    x[2, :2] = 0.0
    model = models.Sequential([layers.Masking(0.0), layers.GRU(UNITS)])
    batch = model(x).numpy()
    gru = model.layers[1]
    for row, keep in enumerate([slice(0, 3), slice(0, 5), slice(2, 5)]):
        np.testing.assert_allclose(batch[row], gru(x[row:row + 1, keep]).numpy()[0],
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "bidirectional"])
def test_output_masks_as_keras(kind):
    """return_sequences keeps the mask; the last output and the states carry none."""
    ids = _padded(_sequences(), "right")
    expected = ids != 0
    x = layers.Embedding(VOCAB, DIM, mask_zero=True)(ids)
    sequences = _recurrent(kind, return_sequences=True)(x)
    assert np.array_equal(masks.get_mask(sequences), expected)
    assert masks.get_mask(_recurrent(kind)(x)) is None
    output, *states = _recurrent(kind, return_sequences=True, return_state=True)(x)
    assert np.array_equal(masks.get_mask(output), expected)
    assert all(masks.get_mask(s) is None for s in states)
    layer = _recurrent(kind, return_state=True)
    count = {"LSTM": 2, "GRU": 1, "bidirectional": 4}[kind]
    assert layer.compute_mask(x, expected) == [None] * (1 + count)
