"""`matmul.choose` at the edges of its rule (found by mutation testing: every path computes
the same product, so only a test of the choice itself sees a wrong threshold).

The rule: "small_k" when K < SMALL_K and N >= SMALL_K_MIN_N; otherwise, when the packed B
(N rounded up to whole NR panels, times K, in bytes) fits in BY_BLOCK_BYTES or the output has
at most FEW_TILES MC x NC tiles, "by_block"; otherwise "by_slab".
The sizes below are built from the machine's own blocking, so the tests hold for any vector
width.
"""
import pytest

from tinygrad_book.kernels.cpu import matmul as mm

ITEM = 4      # float32


def blocking():
    _, nr, mc, _, nc = mm._blocking(ITEM)
    return nr, mc, nc


@pytest.mark.parametrize("dk,dn,want", [(-1, 0, "small_k"), (0, 0, "by_block"), (-1, -1, "by_block")])
def test_small_k_needs_k_below_and_n_at_least_the_thresholds(dk, dn, want):
    assert mm.choose(4, mm.SMALL_K_MIN_N + dn, mm.SMALL_K + dk, ITEM) == want


@pytest.mark.parametrize("runs", [False, True])
def test_small_k_only_where_a_would_be_packed(runs):
    """A whose rows are runs of k is read in place by "by block", which beats "small k"."""
    want = "by_block" if runs else "small_k"
    assert mm.choose(43264, 32, 9, ITEM, a_rows_are_runs=runs) == want


@pytest.mark.parametrize("last_panel", ["1 column", "2 columns", "full"])   # a partial panel is rounded up
def test_by_block_while_the_packed_b_fits(monkeypatch, last_panel):
    nr, mc, nc = blocking()
    n, k = 2 * nr + {"1 column": 1, "2 columns": 2, "full": nr}[last_panel], 100
    packed_b = 3 * nr * k * ITEM                        # 3 whole panels of nr columns, K rows
    monkeypatch.setattr(mm, "FEW_TILES", 0)
    monkeypatch.setattr(mm, "BY_BLOCK_BYTES", packed_b)
    assert mm.choose(10 * mc, n, k, ITEM) == "by_block"
    monkeypatch.setattr(mm, "BY_BLOCK_BYTES", packed_b - 1)
    assert mm.choose(10 * mc, n, k, ITEM) == "by_slab"


def test_by_block_when_the_output_has_few_tiles(monkeypatch):
    nr, mc, nc = blocking()
    monkeypatch.setattr(mm, "BY_BLOCK_BYTES", 0)
    m, n = mc + 1, nc + 1                              # 2 x 2 partial tiles
    monkeypatch.setattr(mm, "FEW_TILES", 4)
    assert mm.choose(m, n, 64, ITEM) == "by_block"
    monkeypatch.setattr(mm, "FEW_TILES", 3)
    assert mm.choose(m, n, 64, ITEM) == "by_slab"
