"""Element-wise ops: forward calls one kernel, backward is the derivative times g.

Binary ops here see inputs of the same shape: the Tensor methods broadcast first
with `expand` (stride-0 views), whose backward is a sum. So "expand is sum in
reverse" is written once (ops_movement.Expand), not in every binary op.
"""
from __future__ import annotations

from .function import Function


def _unary(x, op):
    return x.from_storage(x.backend.unary(op, x.view), x.shape)


def _binary(a, b, op):
    return a.from_storage(a.backend.binary(op, a.view, b.view), a.shape)


# --- unary ----------------------------------------------------------------------------
class Neg(Function):
    def forward(self, x):
        return _unary(x, "neg")

    def backward(self, g):
        return (-g,)


class Exp(Function):
    def forward(self, x):
        out = _unary(x, "exp")
        self.save(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * out,)               # d/dx e^x = e^x


class Log(Function):
    def forward(self, x):
        self.save(x)
        return _unary(x, "log")

    def backward(self, g):
        (x,) = self.saved
        return (g / x,)


class Sqrt(Function):
    def forward(self, x):
        out = _unary(x, "sqrt")
        self.save(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g / (out * 2.0),)


class Tanh(Function):
    def forward(self, x):
        out = _unary(x, "tanh")
        self.save(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * (1.0 - out * out),)


class Sigmoid(Function):
    def forward(self, x):
        out = _unary(x, "sigmoid")
        self.save(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * out * (1.0 - out),)


class Relu(Function):
    def forward(self, x):
        self.save(x)
        return _unary(x, "relu")

    def backward(self, g):
        (x,) = self.saved
        return (g * (x > 0),)           # the derivative at exactly 0 is taken as 0


class Abs(Function):
    def forward(self, x):
        self.save(x)
        return _unary(x, "abs")

    def backward(self, g):
        (x,) = self.saved
        return (g * x.sign(),)


class Reciprocal(Function):
    def forward(self, x):
        out = _unary(x, "recip")
        self.save(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (-g * out * out,)        # d/dx 1/x = -1/x^2


# --- binary (same shapes) ----------------------------------------------------------------
class Add(Function):
    def forward(self, a, b):
        return _binary(a, b, "add")

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        return (g if need_a else None), (g if need_b else None)


class Sub(Function):
    def forward(self, a, b):
        return _binary(a, b, "sub")

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        return (g if need_a else None), (-g if need_b else None)


class Mul(Function):
    def forward(self, a, b):
        self.save(a, b)
        return _binary(a, b, "mul")

    def backward(self, g):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    def forward(self, a, b):
        self.save(a, b)
        return _binary(a, b, "div")

    def backward(self, g):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        return (g / b if need_a else None), (-g * a / (b * b) if need_b else None)


class Pow(Function):
    def forward(self, a, b):
        out = _binary(a, b, "pow")
        self.save(a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        need_a, need_b = self.needs_input_grad
        grad_a = g * b * (a ** (b - 1.0)) if need_a else None
        grad_b = None
        if need_b:                      # d/db a^b = a^b log a, defined for a > 0
            positive = a > 0
            safe_log = positive.where(a, 1.0).log()
            grad_b = g * out * safe_log * positive
        return grad_a, grad_b


class Maximum(Function):
    def forward(self, a, b):
        self.save(a, b)
        return _binary(a, b, "maximum")

    def backward(self, g):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        share_a = (a > b) + (a == b) * 0.5   # ties split the gradient evenly
        return (g * share_a if need_a else None), (g * (1.0 - share_a) if need_b else None)


class Minimum(Function):
    def forward(self, a, b):
        self.save(a, b)
        return _binary(a, b, "minimum")

    def backward(self, g):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        share_a = (a < b) + (a == b) * 0.5
        return (g * share_a if need_a else None), (g * (1.0 - share_a) if need_b else None)


class Where(Function):
    """out = a where cond != 0 else b. cond gets no gradient."""

    def forward(self, cond, a, b):
        self.save(cond)
        return a.from_storage(a.backend.where(cond.view, a.view, b.view), a.shape)

    def backward(self, g):
        (cond,) = self.saved
        _, need_a, need_b = self.needs_input_grad
        zero = g.full_like(0.0)
        return None, (cond.where(g, zero) if need_a else None), (cond.where(zero, g) if need_b else None)


class Cast(Function):
    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.from_storage(x.backend.cast(x.view, dtype), x.shape)

    def backward(self, g):
        return (g.astype(self.input_dtype),)


def compare(a, b, op):
    """Comparisons give 1.0 / 0.0 in the inputs' dtype and carry no gradient."""
    return _binary(a, b, op)
