"""Pass criteria for the reproduction table: each returns ``check(result, all_results)``.

``check`` gives ``(passed, rule)``: ``passed`` is True/False, or None when a number it needs is
missing (e.g. the reference run of a comparison has not been run yet); ``rule`` says in words
what was checked, and is printed in ``docs/results.md``. ``check.key`` names the number of the
result it reads (None when it reads curves): a verdict over several seeds needs to know.
"""
from __future__ import annotations


def _reads(key, check):
    check.key = key
    return check


def at_least(key, bound):
    def check(result, _all):
        value = result.get(key)
        return (None if value is None else value >= bound), f"{key} >= {bound}"
    return _reads(key, check)


def at_most(key, bound):
    def check(result, _all):
        value = result.get(key)
        return (None if value is None else value <= bound), f"{key} <= {bound}"
    return _reads(key, check)


def between(key, low, high):
    def check(result, _all):
        value = result.get(key)
        return (None if value is None else low <= value <= high), f"{low} <= {key} <= {high}"
    return _reads(key, check)


def compared_with(other_id, key, relation, margin=0.0):
    """``relation`` one of '<', '>': ours[key] relation other[key] (- margin for '<')."""
    def check(result, all_results):
        rule = (f"{key} {relation} {other_id}'s {key}"
                + (f" - {margin}" if margin else ""))
        other = (all_results.get(other_id) or {}).get(key)
        value = result.get(key)
        if other is None or value is None:
            return None, rule + " (needs both runs)"
        passed = value < other - margin if relation == "<" else value > other + margin
        return passed, rule
    return _reads(key, check)


def stays_below(other_id, curve, from_epoch):
    """ours.history[curve] < other's at every epoch from ``from_epoch`` (1-based) on: what a
    figure of two curves shows when one "stays lower in the late epochs" (fig 4.7). Comparing
    minima instead is unfair to an L2 model: Keras 2's val_loss includes the weight penalty."""
    def check(result, all_results):
        rule = f"{curve} < {other_id}'s at every epoch from {from_epoch} on"
        ours = (result.get("history") or {}).get(curve)
        other = ((all_results.get(other_id) or {}).get("history") or {}).get(curve)
        if not ours or not other or len(ours) < from_epoch:
            return None, rule + " (needs both runs)"
        late = range(from_epoch - 1, min(len(ours), len(other)))
        return all(ours[i] < other[i] for i in late), rule
    return _reads(None, check)


def equal_to(expected: dict):
    """Every number of ``expected`` equals ours exactly: the book's printed shapes and counts."""
    first = next(iter(expected))

    def check(result, _all):
        rule = ", ".join(f"{k} == {v}" for k, v in expected.items())
        if any(result.get(k) is None for k in expected):
            return None, rule
        return all(_plain(result[k]) == _plain(v) for k, v in expected.items()), rule
    return _reads(first, check)


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def within(other_id, key, tolerance):
    """|ours[key] - other's[key]| <= tolerance: "nearly identical to" another run."""
    def check(result, all_results):
        rule = f"|{key} - {other_id}'s {key}| <= {tolerance}"
        other = (all_results.get(other_id) or {}).get(key)
        value = result.get(key)
        if other is None or value is None:
            return None, rule + " (needs both runs)"
        return abs(value - other) <= tolerance, rule
    return _reads(key, check)


def not_worse_than(other_id, key, tolerance, higher_is_better=True):
    """Ours is better than the other run, or worse by at most ``tolerance``."""
    def check(result, all_results):
        sign = ">=" if higher_is_better else "<="
        rule = f"{key} {sign} {other_id}'s {key} {'-' if higher_is_better else '+'} {tolerance}"
        other = (all_results.get(other_id) or {}).get(key)
        value = result.get(key)
        if other is None or value is None:
            return None, rule + " (needs both runs)"
        passed = value >= other - tolerance if higher_is_better else value <= other + tolerance
        return passed, rule
    return _reads(key, check)


def all_of(*checks):
    """Every check passes (None if any cannot tell); the rules joined with 'and'."""
    def check(result, all_results):
        verdicts = [c(result, all_results) for c in checks]
        passed = [v for v, _ in verdicts]
        rule = " and ".join(r for _, r in verdicts)
        return (None if None in passed else all(passed)), rule
    return _reads(checks[0].key, check)


def below(key, other_key):
    """ours[key] < ours[other_key]: two numbers of the same run, e.g. a model's validation MAE
    and the naive baseline's on the very same validation windows."""
    def check(result, _all):
        value, other = result.get(key), result.get(other_key)
        return (None if value is None or other is None else value < other), f"{key} < {other_key}"
    return _reads(key, check)


def above(key, other_key):
    """ours[key] > ours[other_key] (see ``below``)."""
    def check(result, _all):
        value, other = result.get(key), result.get(other_key)
        return (None if value is None or other is None else value > other), f"{key} > {other_key}"
    return _reads(key, check)
