"""minigrad.nn (import as nn): modules, layers, initialisation and utilities.

    module.py      Module (registration, state_dict, train/eval, to), hooks
    parameter.py   Parameter
    container.py   Sequential, ModuleList
    layers/        Linear, Conv2d, BatchNorm2d, ReflectionPad2d, ... (one file per family)
    init.py        nn.init: normal_, kaiming_uniform_, ...
    functional.py  F: the functional forms (re-exported from minigrad/ops)
    utils/         spectral_norm, remove_spectral_norm, clip_grad_norm_
"""
from . import functional, init, utils
from .container import ModuleList, Sequential
from .layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, CircularPad2d, ConstantPad2d,
                     Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten, Identity,
                     InstanceNorm2d, LayerNorm, LeakyReLU, Linear, MaxPool2d, ReflectionPad2d,
                     ReLU, ReplicationPad2d, Sigmoid, Tanh, Unflatten, Upsample, ZeroPad2d)
from .module import Module
from .parameter import Parameter

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "CircularPad2d", "ConstantPad2d",
           "Conv2d", "ConvTranspose2d", "Dropout", "Embedding", "Flatten", "Identity",
           "InstanceNorm2d", "LayerNorm", "LeakyReLU", "Linear", "MaxPool2d", "Module",
           "ModuleList", "Parameter", "ReflectionPad2d", "ReLU", "ReplicationPad2d",
           "Sequential", "Sigmoid", "Tanh", "Unflatten", "Upsample", "ZeroPad2d", "functional",
           "init", "utils"]
