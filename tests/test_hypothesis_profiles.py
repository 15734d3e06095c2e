"""HYPOTHESIS_PROFILE chooses the profile of the whole session, and nothing overrides it.

A conftest that loads a profile at import wins over the root one as soon as its folder
is collected; these tests run after collection, so they see any such override.
"""
import ast
from pathlib import Path

from hypothesis import settings

from .conftest import PROFILE, fewer_examples

TESTS = Path(__file__).resolve().parent


def test_the_chosen_profile_is_the_active_one():
    chosen = settings.get_profile(PROFILE)
    assert settings.default.max_examples == chosen.max_examples
    assert settings.default.derandomize == chosen.derandomize


def _loads_a_profile(path):
    calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]
    return any(isinstance(c.func, ast.Attribute) and c.func.attr == "load_profile" for c in calls)


def test_only_the_root_conftest_loads_a_profile():
    loaders = sorted(str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py") if _loads_a_profile(p))
    assert loaders == ["conftest.py"]


def test_fewer_examples_scales_with_the_profile():
    n = settings.default.max_examples
    assert fewer_examples(0.5).max_examples == max(1, round(n * 0.5))
    assert fewer_examples(0.01).max_examples == 1


def _fixes_its_examples(path):
    """A `settings(max_examples=<a number>)`: the same count under every profile."""
    calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]
    return any(getattr(c.func, "id", getattr(c.func, "attr", None)) == "settings"
               and any(k.arg == "max_examples" and isinstance(k.value, ast.Constant) for k in c.keywords)
               for c in calls)


def test_no_test_fixes_its_number_of_examples():
    """Fewer examples through `fewer_examples(fraction)`, so `thorough` and `mutation` still rule."""
    fixed = sorted(str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py")
                   if p.name != "conftest.py" and _fixes_its_examples(p))
    assert fixed == []
