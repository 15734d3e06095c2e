"""Pass criteria for the reproduction table: each returns ``check(result, all_results)``.

``check`` gives ``(passed, rule)``: ``passed`` is True/False, or None when a number it needs is
missing (e.g. the reference run of a comparison has not been run yet); ``rule`` says in words
what was checked, and is printed in ``docs/results.md``.
"""
from __future__ import annotations


def at_least(key, bound):
    def check(result, _all):
        value = result.get(key)
        return (None if value is None else value >= bound), f"{key} >= {bound}"
    return check


def at_most(key, bound):
    def check(result, _all):
        value = result.get(key)
        return (None if value is None else value <= bound), f"{key} <= {bound}"
    return check


def between(key, low, high):
    def check(result, _all):
        value = result.get(key)
        return (None if value is None else low <= value <= high), f"{low} <= {key} <= {high}"
    return check


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
    return check
