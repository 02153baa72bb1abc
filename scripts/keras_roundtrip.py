"""Real Keras reads neuronet's .keras files and predicts as neuronet does (CI: .ci/run).

Two steps in two environments, since Keras stays out of the project's own:

    .venv/bin/python scripts/keras_roundtrip.py write DIR      # neuronet: models + outputs
    KERAS_BACKEND=jax KERAS_PYTHON scripts/keras_roundtrip.py check DIR   # Keras 3 + JAX

``write`` saves models built in neuronet (the CNN and MLP of ``neuronet train``, a
functional two-input two-output model, a nested Sequential, every Keras fixture read and
written again) as ``<name>.keras`` with fixed inputs and neuronet's predictions
(``<name>.npz``); ``check`` loads each with ``keras.saving.load_model`` and exits 1 unless
every prediction agrees within 1e-5 relative to the output's scale (max(1, max |output|)):
float32 sums in another order differ by about 1e-7 of the largest value.
"""
import pathlib
import sys

import numpy

FIXTURES = pathlib.Path(__file__).parent.parent / "tests" / "fixtures" / "keras"
# Fixtures not written back: "lambda" is refused on reading; the others hold keras.ops as
# OpLayers, which the .keras writer refuses with a clear error (not written yet).
NOT_WRITTEN = {"lambda", "masked", "op_mask", "ops"}


def native_models():
    import neuronet
    from neuronet import architectures, layers

    left, right = neuronet.Input((7,), name="left"), neuronet.Input((6, 6, 2), name="right")
    image = layers.Conv2D(3, 3, strides=2, padding="same", activation="relu")(right)
    image = layers.Flatten()(layers.BatchNormalization()(image))
    joined = layers.Concatenate()([layers.Dense(5, activation="tanh")(left), image])
    two = neuronet.Model([left, right], [layers.Dense(3, activation="softmax")(joined),
                                         layers.Dense(1)(layers.Dense(4)(joined))])
    inner = neuronet.Sequential([layers.Dense(4, activation="elu"), layers.Dropout(0.2)])
    nested = neuronet.Sequential([layers.Input((5,)), inner, layers.Dense(2)])
    models = {"train_cnn": architectures.build("cnn", (28, 28, 1), 10),
              "train_mlp": architectures.build("mlp", (28, 28, 1), 10),
              "two_inputs": two, "nested_sequential": nested, **sequence_models()}
    for path in sorted(FIXTURES.glob("*.keras")):
        if path.stem not in NOT_WRITTEN:
            models[f"fixture_{path.stem}"] = neuronet.models.load_keras(path)
    return models


def sequence_models():
    """Embedding (masked ids) -> LSTM -> GRU; Conv1D, 1D pools, TimeDistributed, SimpleRNN;
    Bidirectional GRUs and LSTM with each merge mode."""
    import neuronet
    from neuronet import layers

    text = neuronet.Sequential([
        layers.Input((8,)), layers.Embedding(20, 5, mask_zero=True),
        layers.LSTM(4, return_sequences=True), layers.GRU(3, reset_after=False),
        layers.Dense(2, activation="softmax")])
    series = neuronet.Sequential([
        layers.Input((12, 2)),
        layers.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="relu"),
        layers.AveragePooling1D(2), layers.Conv1D(4, 2, padding="same"),
        layers.MaxPooling1D(2, strides=1, padding="same"),
        layers.TimeDistributed(layers.Dense(3, activation="tanh")),
        layers.Masking(), layers.SimpleRNN(3, return_sequences=True, go_backwards=True),
        layers.GlobalMaxPooling1D()])
    steps = neuronet.Input((5, 3))
    both = layers.Bidirectional(layers.GRU(2, return_sequences=True))(steps)
    summed = layers.Bidirectional(layers.LSTM(2), merge_mode="mul")(both)
    pooled = layers.GlobalAveragePooling1D()(
        layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True), merge_mode="ave")(both))
    bidirectional = neuronet.Model(steps, [summed, pooled])
    return {"text": text, "series": series, "bidirectional": bidirectional}


def _inputs(name, model, rng):
    """Random inputs; word ids (0 = padding) for the models that start with an Embedding."""
    shapes = [tuple(shape[1:]) for shape in _input_shapes(model)]
    if name in ("text", "fixture_text"):
        ids = rng.integers(1, 20, (3,) + shapes[0])
        ids[:, -2:] = 0
        return [ids.astype("float32")]
    return [rng.normal(0, 1, (3,) + shape).astype("float32") for shape in shapes]


def randomize(model, rng):
    """Random weights (BatchNormalization's variances positive) so that every weight counts."""
    from neuronet.io.checkpoint import named_weights

    for key, weight in named_weights(model):
        weight.data[...] = (rng.uniform(0.5, 2.0, weight.shape) if key.endswith("variance")
                            else rng.normal(0, 0.3, weight.shape))


def write(folder):
    rng = numpy.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name, model in native_models().items():
        if not name.startswith("fixture_"):
            randomize(model, rng)
        inputs = _inputs(name, model, rng)
        outputs = model.predict(inputs if len(inputs) > 1 else inputs[0])
        outputs = outputs if isinstance(outputs, list) else [outputs]
        model.save(folder / f"{name}.keras")
        numpy.savez(folder / f"{name}.npz", **{f"input_{i}": x for i, x in enumerate(inputs)},
                    **{f"output_{i}": y for i, y in enumerate(outputs)})
        print(f"wrote {name}.keras")


def _input_shapes(model):
    inputs = getattr(model, "inputs", None)
    if inputs:
        return [tensor.shape for tensor in inputs]
    return [model.input_shape]


def check(folder):
    import keras

    failures = 0
    for path in sorted(folder.glob("*.keras")):
        arrays = numpy.load(path.with_suffix(".npz"))
        count = sum(key.startswith("input_") for key in arrays)
        inputs = [arrays[f"input_{i}"] for i in range(count)]
        wanted = [arrays[f"output_{i}"] for i in range(len(arrays.files) - count)]
        model = keras.saving.load_model(path)
        got = model.predict(inputs if count > 1 else inputs[0], verbose=0)
        got = got if isinstance(got, list) else [got]
        for index, (value, want) in enumerate(zip(got, wanted)):
            if numpy.abs(value - want).max() > 1e-5 * max(1.0, numpy.abs(want).max()):
                failures += 1
                print(f"MISMATCH {path.name} output {index}: max difference "
                      f"{numpy.abs(value - want).max():.3g}")
        print(f"{path.name}: checked with Keras {keras.__version__}")
    return failures


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    target = pathlib.Path(sys.argv[2])
    if sys.argv[1] == "write":
        write(target)
    else:
        sys.exit(1 if check(target) else 0)
