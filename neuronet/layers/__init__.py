"""Layers with Keras' names and arguments, plus the registry behind (de)serialisation."""
from neuronet.layers.base import InputSpec, Layer, deserialize, get, register, serialize
from neuronet.layers.activation import Activation, LeakyReLU, ReLU, Softmax
from neuronet.layers.convolutional import Conv2D
from neuronet.layers.core import Dense, Flatten, Input, InputLayer, Reshape
from neuronet.layers.normalization import BatchNormalization
from neuronet.layers.pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D,
                                     MaxPool2D, MaxPooling2D)
from neuronet.layers.regularization import Dropout
from neuronet.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                     Subtract, add, average, concatenate, dot, maximum, minimum,
                                     multiply, subtract)
from neuronet.layers.node import SymbolicTensor
