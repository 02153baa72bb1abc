"""The Lab: the course's experiments as commands that answer with numbers and pictures.

Each experiment is a module with ``run(settings, ...)`` that trains with the library
(models, layers, callbacks, optimizers, datasets) and writes report.md, a
self-contained report.html, results.json and PNG figures (``report``):

    architectures   goal 1: from logistic regression to a CNN, one step at a time
    overfitting     goal 2: overfitting, early stopping on val_accuracy, dropout
    optimizers      six optimizers on an MLP and on two 2-D surfaces (``surfaces``)
    activations     sigmoid, tanh and ReLU in a deep MLP: vanishing gradients
    kernels         classic kernels, learned first-layer filters, feature maps
    learning_rate   a learning-rate sweep, from too small to diverging
    reinforce       REINFORCE with a baseline on Gymnasium's CartPole-v1 (``neuronet.rl``)
    autoencoder     dense, conv and denoising autoencoders; k-means on codes vs pixels
    detection       one item: class + box; several items: a grid detector, NMS, mAP@0.5
    explain         backpropagation by hand (``backprop``), checked against autograd

``common`` holds what they share (settings, data, seeded runs, mean ± spread) and
``cli`` the ``neuronet lab ...`` and ``neuronet explain`` commands. The library never
imports the lab.
"""
