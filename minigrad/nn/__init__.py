"""minigrad.nn (import as nn): modules, layers, initialisation and utilities.

    module.py      Module (registration, state_dict, train/eval, to), hooks
    parameter.py   Parameter
    container.py   Sequential, ModuleList, ModuleDict, ParameterList
    layers/        Linear, Conv2d, BatchNorm2d, ReflectionPad2d, BCELoss, ... (one file per
                   family)
    init.py        nn.init: normal_, kaiming_uniform_, ...
    functional.py  F: the functional forms (re-exported from minigrad/ops)
    utils/         spectral_norm, remove_spectral_norm, clip_grad_norm_, clip_grad_value_,
                   parameters_to_vector, vector_to_parameters
"""
from . import functional, init, utils
from .container import ModuleDict, ModuleList, ParameterList, Sequential
from .layers import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, BatchNorm1d,
                     BatchNorm2d, BCELoss, BCEWithLogitsLoss, CircularPad1d, CircularPad2d,
                     ConstantPad1d, ConstantPad2d, Conv1d, Conv2d, ConvTranspose1d,
                     ConvTranspose2d, CrossEntropyLoss, Dropout, Dropout2d, ELU, Embedding,
                     Flatten, GaussianNLLLoss, GELU, GroupNorm, Hardtanh, Identity,
                     InstanceNorm2d, L1Loss, LayerNorm, LeakyReLU, Linear, LogSigmoid,
                     LogSoftmax, MaxPool1d, MaxPool2d, MSELoss, NLLLoss, PixelShuffle,
                     PixelUnshuffle, ReflectionPad1d, ReflectionPad2d, ReLU, ReLU6,
                     ReplicationPad1d, ReplicationPad2d, Sigmoid, SiLU, Softmax, Softplus,
                     Tanh, Unflatten, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d,
                     ZeroPad1d, ZeroPad2d)
from .module import Module
from .parameter import Parameter

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss", "CircularPad1d", "CircularPad2d",
           "ConstantPad1d", "ConstantPad2d", "Conv1d", "Conv2d", "ConvTranspose1d",
           "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "Dropout2d", "ELU", "Embedding",
           "Flatten", "GaussianNLLLoss", "GELU", "GroupNorm", "Hardtanh", "Identity",
           "InstanceNorm2d", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSigmoid",
           "LogSoftmax", "MaxPool1d", "MaxPool2d", "Module", "ModuleDict", "ModuleList",
           "MSELoss", "NLLLoss", "Parameter", "ParameterList", "PixelShuffle",
           "PixelUnshuffle", "ReflectionPad1d", "ReflectionPad2d", "ReLU", "ReLU6",
           "ReplicationPad1d", "ReplicationPad2d", "Sequential", "Sigmoid", "SiLU", "Softmax",
           "Softplus", "Tanh", "Unflatten", "Upsample", "UpsamplingBilinear2d",
           "UpsamplingNearest2d", "ZeroPad1d", "ZeroPad2d", "functional", "init", "utils"]
