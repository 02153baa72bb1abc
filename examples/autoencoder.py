"""A denoising autoencoder on Fashion-MNIST, then k-means on its codes: clustering
without labels (the labels only score the clusters).

    python examples/autoencoder.py [--dataset fashion-mnist] [--limit 20000] [--epochs 10]

The report with a dense, a convolutional and this denoising model, figures and the
pixel baseline: ``neuronet lab autoencoder`` (docs/lab/autoencoder/).
"""
import argparse

import numpy as np

import neuronet as nn
from neuronet import clustering, datasets, layers


def build(code_size=10, noise=0.3):
    """(autoencoder, encoder): 784 -> 256 -> 64 -> code -> 64 -> 256 -> 784, sharing layers;
    GaussianNoise acts in training only, so every batch is seen with new noise."""
    inputs = nn.Input(shape=(28, 28))
    x = layers.Flatten()(layers.GaussianNoise(noise)(inputs))
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    code = layers.Dense(code_size, name="code")(x)
    x = layers.Dense(64, activation="relu")(code)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dense(28 * 28, activation="sigmoid")(x)
    outputs = layers.Reshape((28, 28))(x)
    return nn.Model(inputs, outputs), nn.Model(inputs, code)


def main(dataset="fashion-mnist-mini", limit=None, epochs=10, seed=0):
    (x, _), (x_test, y_test) = datasets.load(dataset)      # the training labels stay unused
    x, x_test = x[:limit] / np.float32(255), x_test / np.float32(255)
    nn.manual_seed(seed)
    autoencoder, encoder = build()
    autoencoder.compile(optimizer="adam", loss="mse")      # target: the clean input itself
    autoencoder.fit(x, x, batch_size=64, epochs=epochs, verbose=0)
    mse = float(np.mean((autoencoder.predict(x_test) - x_test) ** 2))
    found = {}
    for name, features in (("pixels", x_test.reshape(len(x_test), -1)),
                           ("codes", encoder.predict(x_test))):
        clusters = clustering.kmeans(features, 10, seed=seed)[0]  # own NumPy k-means++
        found[name] = (clustering.cluster_accuracy(y_test, clusters),
                       clustering.normalized_mutual_info(y_test, clusters))
        print(f"k-means on {name}: ACC {found[name][0]:.3f}, NMI {found[name][1]:.3f}")
    print(f"test reconstruction MSE {mse:.4f}")
    return {"test_mse": mse, "pixels": found["pixels"], "codes": found["codes"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist-mini")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(arguments.dataset, arguments.limit, arguments.epochs, arguments.seed)
