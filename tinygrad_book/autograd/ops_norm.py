"""Batch normalisation as one differentiable op over (M, C) rows: the backend's fused
forward (statistics and normalisation in one primitive) and its fused backward."""
from __future__ import annotations

from .function import Function


class BatchNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + epsilon) + beta, with the batch's own per-channel
    mean and (biased) variance: x (M, C), gamma and beta (C,).

    `stats`, a dict, receives the batch's "mean" and "var" (tensors outside the graph):
    the layer folds them into its moving averages."""

    def forward(self, x, gamma, beta, epsilon, stats=None):
        be, channels = x.backend, x.shape[1]
        y, mean, var, inv_std = be.batchnorm_forward(x.view, gamma.view, beta.view, float(epsilon))
        mean, inv_std = x.from_storage(mean, (channels,)), x.from_storage(inv_std, (channels,))
        if stats is not None:
            stats["mean"], stats["var"] = mean, x.from_storage(var, (channels,))
        self.save(x, gamma, mean, inv_std)
        return x.from_storage(y, x.shape)

    def backward(self, g):
        x, gamma, mean, inv_std = self.saved
        dx, dgamma, dbeta = x.backend.batchnorm_backward(g.view, x.view, mean.view, inv_std.view, gamma.view)
        need_x, need_gamma, need_beta = self.needs_input_grad
        channels = (x.shape[1],)
        return (g.from_storage(dx, x.shape) if need_x else None,
                g.from_storage(dgamma, channels) if need_gamma else None,
                g.from_storage(dbeta, channels) if need_beta else None)
