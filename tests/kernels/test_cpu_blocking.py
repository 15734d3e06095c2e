"""The GEMM's blocking comes from the machine: cache sizes read from sysfs and the vector
width. Every blocking computes the same product, so the value tests cannot see a wrong
one (mutation testing found these rules untested); here the rules themselves are checked,
on this machine and on others' sizes.
"""
import pytest

from tinygrad_book.kernels.cpu import jit
from tinygrad_book.kernels.cpu import matmul as mm


def fake_sysfs(root, caches):
    """caches: (level, type, size text) per cache, as Linux lists them in index0, index1, ..."""
    for i, (level, kind, size) in enumerate(caches):
        folder = root / f"index{i}"
        folder.mkdir()
        (folder / "level").write_text(f"{level}\n")
        (folder / "type").write_text(f"{kind}\n")
        (folder / "size").write_text(f"{size}\n")
    (root / "id").write_text("")                      # not cache folders (sorted before and after
    (root / "uevent").write_text("")                  # the index folders): skipped
    return str(root)


ZEN = [(1, "Data", "32K"), (1, "Instruction", "64K"), (2, "Unified", "512K"), (3, "Unified", "32768K")]


@pytest.mark.parametrize("level,want", [(1, 32 << 10), (2, 512 << 10), (3, 32 << 20)])
def test_cache_bytes_reads_the_data_cache_of_each_level(tmp_path, level, want):
    assert jit.cache_bytes(level, default=-1, base=fake_sysfs(tmp_path, ZEN)) == want


def test_cache_bytes_skips_the_instruction_cache_and_reads_units(tmp_path):
    base = fake_sysfs(tmp_path, [(1, "Instruction", "64K"), (1, "Data", "49152"), (2, "Unified", "2M")])
    assert jit.cache_bytes(1, default=-1, base=base) == 49152
    assert jit.cache_bytes(2, default=-1, base=base) == 2 << 20


@pytest.mark.parametrize("caches", [[], [(1, "Data", "lots")]], ids=["no cache listed", "unreadable size"])
def test_cache_bytes_falls_back_to_the_default(tmp_path, caches):
    assert jit.cache_bytes(1, default=12345, base=fake_sysfs(tmp_path, caches)) == 12345
    assert jit.cache_bytes(1, default=777, base=str(tmp_path / "missing")) == 777


MACHINES = [(32, 32 << 10, 512 << 10), (32, 64 << 10, 1 << 20), (64, 32 << 10, 1 << 20), (64, 48 << 10, 2 << 20),
            (16, 16 << 10, 128 << 10), (32, 8 << 10, 64 << 20), (32, 32 << 10, 32 << 10)]   # the last: MC = MR


@pytest.mark.parametrize("item", [4, 8])
@pytest.mark.parametrize("vector,l1,l2", MACHINES)
def test_the_blocking_follows_its_rules(monkeypatch, item, vector, l1, l2):
    """NR = 2 vectors; KC the largest multiple of 8 (64 to 512) with a KC x NR panel of B
    in twice L1; MC the most MR-row panels (1 to 16) with MC x KC of A in a quarter of L2;
    NC the most NR-column panels (1 to 8) with KC x NC of B in half of L2."""
    monkeypatch.setattr(mm, "VECTOR_BYTES", vector)
    monkeypatch.setattr(mm, "L1", l1)
    monkeypatch.setattr(mm, "L2", l2)
    mr, nr, mc, kc, nc = mm._blocking(item)
    assert mr == mm.MR and nr == 2 * vector // item
    assert kc % 8 == 0 and 64 <= kc <= 512
    assert kc == 64 or kc * nr * item <= 2 * l1
    assert kc == 512 or (kc + 8) * nr * item > 2 * l1
    assert mc % mr == 0 and mr <= mc <= 16 * mr
    assert mc == mr or mc * kc * item <= l2 // 4
    assert mc == 16 * mr or (mc + mr) * kc * item > l2 // 4
    assert nc % nr == 0 and nr <= nc <= 8 * nr
    assert nc == nr or nc * kc * item <= l2 // 2
    assert nc == 8 * nr or (nc + nr) * kc * item > l2 // 2


def test_this_machines_blocking_is_the_one_tiles_reports():
    assert mm.tiles("float32") == mm._blocking(4) and mm.tiles("float64") == mm._blocking(8)
