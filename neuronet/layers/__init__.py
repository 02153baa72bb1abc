"""Layers with Keras' names and arguments, plus the registry behind (de)serialisation."""
from neuronet.layers.base import InputSpec, Layer, deserialize, get, register, serialize
from neuronet.layers.activation import Activation, LeakyReLU, ReLU, Softmax
from neuronet.layers.convolutional import Conv2D
from neuronet.layers.conv_transpose import Conv2DTranspose
from neuronet.layers.core import Dense, Flatten, Input, InputLayer, Reshape
from neuronet.layers.normalization import BatchNormalization, LayerNormalization
from neuronet.layers.pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D,
                                     GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D,
                                     MaxPool2D, MaxPooling2D)
from neuronet.layers.regularization import Dropout, GaussianNoise
from neuronet.layers.spatial import Cropping2D, UpSampling2D, ZeroPadding2D
from neuronet.layers.preprocessing import (RandomFlip, RandomRotation, RandomTranslation,
                                           RandomZoom, Rescaling)
from neuronet.layers.lambda_layer import Lambda
from neuronet.layers.op_layer import OpLayer
from neuronet.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                     Subtract, add, average, concatenate, dot, maximum, minimum,
                                     multiply, subtract)
from neuronet.layers.node import SymbolicTensor
from neuronet.layers.embedding import Embedding
from neuronet.layers.masking import Masking
from neuronet.layers.conv1d import Conv1D
from neuronet.layers.pooling1d import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D,
                                       GlobalAvgPool1D, GlobalMaxPool1D, GlobalMaxPooling1D,
                                       MaxPool1D, MaxPooling1D)
from neuronet.layers.time_distributed import TimeDistributed
from neuronet.layers.recurrent import GRU, LSTM, RNN, Bidirectional, SimpleRNN
from neuronet.layers.clustering import ClusterAssignment
