"""DEC, Deep Embedded Clustering (Xie, Girshick & Farhadi 2016): fine-tune a trained
encoder so that its codes fall into clusters, with no labels.

1. k-means on the codes of the training images gives the starting centres mu_j.
2. ``layers.ClusterAssignment`` on the codes gives the soft assignments q_ij (a
   Student's t kernel around each centre, normalised over the centres).
3. Each round: the target p = ``clustering.target_distribution(q)`` of every training
   image, then one epoch of SGD on KL(P || Q) (``losses.KLDivergence``) with P held
   fixed, which moves the encoder's weights and the centres; stop when fewer than
   TOLERANCE of the images change cluster between two rounds, or after ROUNDS.

The paper recomputes P every T batches (T = 140 for MNIST at batch 256); one epoch of
27,000 images is 106 such batches. Its optimizer: SGD, learning rate 0.01, momentum 0.9.
"""
import numpy

from neuronet import clustering, layers, losses, models, optimizers

ROUNDS, TOLERANCE = 20, 0.001
LEARNING_RATE, MOMENTUM, BATCH_SIZE = 0.01, 0.9, 256
DESCRIPTION = (f"k-means start, then per round the target P from all training images and "
               f"one epoch of SGD ({LEARNING_RATE}, momentum {MOMENTUM}, batch {BATCH_SIZE}) "
               f"on KL(P || Q); at most {ROUNDS} rounds, stop when under {100 * TOLERANCE:g}% "
               "of the images change cluster")


def fine_tune(encoder, x, clusters, seed, kmeans_restarts=3, centers=None):
    """Train ``encoder`` (changed in place) and new centres by DEC on ``x``; ``centers``:
    the starting centres (clusters, code size) where k-means on the codes was run
    already, else k-means runs here.

    Returns:
        (model: x -> q (N, clusters), rounds run).
    """
    if centers is None:
        codes = encoder.predict(x, batch_size=BATCH_SIZE)
        centers = clustering.kmeans(codes, clusters, seed=seed, n_init=kmeans_restarts)[1]
    assignment = layers.ClusterAssignment(clusters, name="assignment")
    model = models.Model(encoder.input, assignment(encoder.output))
    assignment.set_weights([centers])
    model.compile(optimizer=optimizers.get("sgd", learning_rate=LEARNING_RATE,
                                           momentum=MOMENTUM),
                  loss=losses.KLDivergence())
    previous = None
    for rounds in range(ROUNDS):
        q = model.predict(x, batch_size=BATCH_SIZE)
        found = q.argmax(axis=1)
        if previous is not None and numpy.mean(found != previous) < TOLERANCE:
            return model, rounds
        previous = found
        model.fit(x, clustering.target_distribution(q).astype(q.dtype),
                  batch_size=BATCH_SIZE, epochs=1, verbose=0)
    return model, ROUNDS
