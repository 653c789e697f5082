"""The layers, one small file per family; `minigrad.nn` re-exports them all."""
from .activation import (ELU, GELU, Dropout, Dropout2d, Hardtanh, LeakyReLU, LogSigmoid,
                         LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Tanh)
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .linear import (Embedding, Flatten, Identity, Linear, PixelShuffle, PixelUnshuffle,
                     Unflatten)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, L1Loss,
                   MSELoss, NLLLoss)
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .padding import (CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d,
                      ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d,
                      ZeroPad1d, ZeroPad2d)
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d,
                      MaxPool2d, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d)

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss", "CircularPad1d", "CircularPad2d",
           "ConstantPad1d", "ConstantPad2d", "Conv1d", "Conv2d", "ConvTranspose1d",
           "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "Dropout2d", "ELU", "Embedding",
           "Flatten", "GaussianNLLLoss", "GELU", "GroupNorm", "Hardtanh", "Identity",
           "InstanceNorm2d", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSigmoid",
           "LogSoftmax", "MaxPool1d", "MaxPool2d", "MSELoss", "NLLLoss", "PixelShuffle",
           "PixelUnshuffle", "ReflectionPad1d", "ReflectionPad2d", "ReLU", "ReLU6",
           "ReplicationPad1d", "ReplicationPad2d", "Sigmoid", "SiLU", "Softmax", "Softplus",
           "Tanh", "Unflatten", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d",
           "ZeroPad1d", "ZeroPad2d"]
