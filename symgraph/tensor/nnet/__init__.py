"""Neural-network Ops (``T.nnet``): activations, softmax, losses, convolution, pooling, batch norm."""

from .activations import (
    elu,
    gelu,
    hard_sigmoid,
    relu,
    selu,
    sigmoid,
    softplus,
    softsign,
)
from .dropout import dropout
from .batchnorm import (
    batch_normalization,
    batch_normalization_test,
    batch_normalization_train,
)
from .conv import (
    Conv2d,
    Conv2dGradInputs,
    Conv2dGradWeights,
    conv2d,
    conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights,
    conv2d_transpose,
)
from .losses import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
    CrossentropySoftmax,
    binary_crossentropy,
    categorical_crossentropy,
    crossentropy_categorical_1hot,
    crossentropy_softmax,
    crossentropy_softmax_grad,
    one_hot,
    sigmoid_binary_crossentropy,
    to_one_hot,
)
from .pool import DownsampleFactorMaxGradGrad, MaxPoolGradGrad, Pool, PoolGrad, pool_2d
from .softmax import (
    LogSoftmax,
    LogSoftmaxGrad,
    Softmax,
    SoftmaxGrad,
    log_softmax,
    logsoftmax,
    softmax,
)

__all__ = [
    "Conv2d", "Conv2dGradInputs", "Conv2dGradWeights", "CrossentropyCategorical1Hot",
    "CrossentropyCategorical1HotGrad", "CrossentropySoftmax", "DownsampleFactorMaxGradGrad", "LogSoftmax",
    "LogSoftmaxGrad", "MaxPoolGradGrad", "Pool", "PoolGrad", "Softmax", "SoftmaxGrad",
    "batch_normalization", "batch_normalization_test", "batch_normalization_train", "binary_crossentropy",
    "categorical_crossentropy", "conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights",
    "conv2d_transpose", "crossentropy_categorical_1hot", "crossentropy_softmax", "crossentropy_softmax_grad",
    "elu", "gelu", "hard_sigmoid", "log_softmax", "logsoftmax", "one_hot", "pool_2d", "relu", "selu",
    "sigmoid", "sigmoid_binary_crossentropy", "softmax", "softplus", "softsign", "to_one_hot",
]
