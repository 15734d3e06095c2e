"""kernels/cpu/jit.py's view of the host: the target features numba compiles for, and the
SIMD width the blocking is derived from. These run at import, once, with this machine's
features; here they are called again with features of other machines (mutmut survivors:
an import-time function is never re-run by the other tests)."""
import os

import llvmlite.binding as llvm
import pytest

from tinygrad_book.kernels.cpu import jit

AVX2 = "+sse2,+avx,+avx2,+fma,-avx512f"
AVX512 = "+sse2,+avx,+avx2,+fma,+avx512f"


class FakeFeatures:
    def __init__(self, text):
        self.text = text

    def flatten(self):
        return self.text


@pytest.fixture
def host(monkeypatch):
    """host(features): llvm reports `features`; NUMBA_CPU_FEATURES unset (restored afterwards)."""
    monkeypatch.setenv("NUMBA_CPU_FEATURES", "")
    monkeypatch.delenv("NUMBA_CPU_FEATURES")

    def pretend(features):
        monkeypatch.setattr(llvm, "get_host_cpu_features", lambda: FakeFeatures(features))
    return pretend


def test_an_exported_numba_cpu_features_wins(host, monkeypatch):
    host(AVX512)
    monkeypatch.setenv("NUMBA_CPU_FEATURES", "+sse2,+avx")
    assert jit._target_features() == "+sse2,+avx"


def test_an_avx512_host_asks_for_512_bit_vectors(host):
    host(AVX512)
    assert jit._target_features() == AVX512 + ",-prefer-256-bit"
    assert os.environ["NUMBA_CPU_FEATURES"] == AVX512 + ",-prefer-256-bit"   # for numba to read


def test_another_host_keeps_its_features(host):
    host(AVX2)
    assert jit._target_features() == AVX2
    assert "NUMBA_CPU_FEATURES" not in os.environ


@pytest.mark.parametrize("features, width, registers", [
    (AVX512 + ",-prefer-256-bit", 64, 32), (AVX2, 32, 16), ("+sse2,+sse4.2", 16, 16)])
def test_vector_width_and_registers_follow_the_features(features, width, registers):
    assert jit.vector_bytes(features) == width
    assert jit.vector_registers(features) == registers
