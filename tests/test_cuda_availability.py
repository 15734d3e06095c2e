"""The "cuda" device explains itself when it cannot run (normal process, no simulator)."""
import os
import subprocess
import sys

import pytest


def test_no_gpu_gives_a_clear_error():
    pytest.importorskip("numba_cuda", reason="numba-cuda is not installed")
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("under the simulator a CUDA device exists")
    from numba import cuda
    if cuda.is_available():
        pytest.skip("a real GPU is present")
    from tinygrad_book.kernels import get_backend
    from tinygrad_book.kernels.cuda import CudaUnavailableError
    with pytest.raises(CudaUnavailableError, match="no CUDA GPU was found") as error:
        get_backend("cuda")
    assert "NUMBA_ENABLE_CUDASIM=1" in str(error.value)
    assert isinstance(error.value, RuntimeError)


def test_missing_numba_cuda_says_how_to_install(tmp_path):
    """Hide numba-cuda (and numba's CUDA target) in a child process."""
    code = (
        "import sys, importlib.abc\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'numba_cuda' or name.startswith(('numba_cuda.', 'numba.cuda')):\n"
        "            raise ImportError('hidden: ' + name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from tinygrad_book.kernels import get_backend\n"
        "try:\n"
        "    get_backend('cuda')\n"
        "except ImportError as e:\n"
        "    print('IMPORTERROR', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert 'IMPORTERROR' in out.stdout, out.stdout + out.stderr
    assert 'pip install "tinygrad-book[cuda]"' in out.stdout
