"""The layers, one small file per family; `minigrad.nn` re-exports them all."""
from .activation import Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from .conv import Conv2d, ConvTranspose2d
from .linear import Embedding, Flatten, Identity, Linear, Unflatten
from .normalization import BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm
from .padding import (CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d,
                      ZeroPad2d)
from .pooling import AvgPool2d, MaxPool2d, Upsample

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "CircularPad2d", "ConstantPad2d",
           "Conv2d", "ConvTranspose2d", "Dropout", "Embedding", "Flatten", "Identity",
           "InstanceNorm2d", "LayerNorm", "LeakyReLU", "Linear", "MaxPool2d",
           "ReflectionPad2d", "ReLU", "ReplicationPad2d", "Sigmoid", "Tanh", "Unflatten",
           "Upsample", "ZeroPad2d"]
