"""The layers, one small file per family; `minigrad.nn` re-exports them all."""
from .activation import (ELU, GELU, Dropout, Dropout2d, Hardtanh, LeakyReLU, LogSigmoid,
                         LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Tanh)
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .linear import (Embedding, Flatten, Identity, Linear, PixelShuffle, PixelUnshuffle,
                     Unflatten)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, L1Loss,
                   MSELoss, NLLLoss)
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .padding import (CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d,
                      ZeroPad2d)
from .pooling import (AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample,
                      UpsamplingBilinear2d, UpsamplingNearest2d)

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BCELoss",
           "BCEWithLogitsLoss", "CircularPad2d", "ConstantPad2d", "Conv1d", "Conv2d",
           "ConvTranspose1d", "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "Dropout2d",
           "ELU", "Embedding", "Flatten", "GaussianNLLLoss", "GELU", "GroupNorm", "Hardtanh",
           "Identity", "InstanceNorm2d", "L1Loss", "LayerNorm", "LeakyReLU", "Linear",
           "LogSigmoid", "LogSoftmax", "MaxPool2d", "MSELoss", "NLLLoss", "PixelShuffle",
           "PixelUnshuffle", "ReflectionPad2d", "ReLU", "ReLU6", "ReplicationPad2d", "Sigmoid",
           "SiLU", "Softmax", "Softplus", "Tanh", "Unflatten", "Upsample",
           "UpsamplingBilinear2d", "UpsamplingNearest2d", "ZeroPad2d"]
