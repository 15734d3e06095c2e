"""F.one_hot, which the registry reaches only inside cross_entropy: values, dtype, device
and the errors for labels out of range."""
import numpy as np
import pytest

from tinygrad_book.autograd import functional as F

from ..conftest import DEVICES


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_hot_values_dtype_and_device(device, dtype):
    labels = np.array([2, 0, 3, 3, 1])
    out = F.one_hot(labels, 5, dtype=dtype, device=device)
    assert out.shape == (5, 5) and out.dtype == np.dtype(dtype) and out.device == device
    np.testing.assert_array_equal(out.numpy(), np.eye(5, dtype=dtype)[labels])


@pytest.mark.parametrize("device", DEVICES)
def test_one_hot_rejects_labels_out_of_range_and_not_1d(device):
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got range \[0, 3\]"):
        F.one_hot(np.array([0, 3]), 3, device=device)
    with pytest.raises(ValueError, match=r"labels must be 1-d, got shape \(2, 1\)"):
        F.one_hot(np.array([[0], [1]]), 3, device=device)
