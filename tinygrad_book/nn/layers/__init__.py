"""Every layer class, plus `Input` and the merge functions `add`, `concatenate`."""
from .base import Input, InputLayer, Layer, SymbolicTensor, clear_session
from .conv import (AveragePooling2D, Conv1D, Conv2D, DepthwiseConv2D, GlobalAveragePooling2D, GlobalMaxPooling1D,
                   GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D, SeparableConv2D)
from .conv_transpose import Conv2DTranspose
from .core import Activation, Dense, Dropout, Flatten, Lambda, LeakyReLU, Reshape
from .embedding import Embedding
from .merge import Add, Concatenate, add, concatenate
from .normalization import BatchNormalization
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN

__all__ = ["Input", "InputLayer", "Layer", "SymbolicTensor", "clear_session", "Activation", "Dense",
           "Dropout", "Flatten", "Lambda", "LeakyReLU", "Reshape", "Conv1D", "Conv2D", "MaxPooling1D",
           "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
           "Embedding", "Add", "Concatenate", "add", "concatenate", "SimpleRNN", "LSTM", "GRU", "Bidirectional",
           "BatchNormalization", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"]
