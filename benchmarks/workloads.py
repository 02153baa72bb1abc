"""The MLP and the CNN of the benchmark, written once in Keras' API: neuronet and Keras 3
build them from the same lines (the module passed in is ``neuronet`` or ``keras``), which is
the promise that a Keras script runs with the import changed."""


def keras_style_model(api, name):
    """The 'mlp' (784-256-128-10) or the 'cnn' (two conv 3x3 + max-pool blocks, 32 and 64
    filters, dense 128, 10 logits) for 28x28x1 images, compiled with Adam(1e-3) and softmax
    cross-entropy on logits; ``api`` is ``neuronet`` or ``keras``."""
    layers = api.layers
    if name == "mlp":
        stack = [layers.Input((28, 28, 1)), layers.Flatten(),
                 layers.Dense(256, activation="relu"), layers.Dense(128, activation="relu"),
                 layers.Dense(10)]
    else:
        stack = [layers.Input((28, 28, 1)),
                 layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                 layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                 layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)]
    model = api.Sequential(stack)
    model.compile(optimizer=api.optimizers.Adam(1e-3),
                  loss=api.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
