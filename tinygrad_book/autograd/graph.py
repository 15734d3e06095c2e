"""Walking a computation graph without recursion (shared by both engines)."""
from __future__ import annotations


def topological_order(root, parents_of):
    """Nodes reachable from `root`, each listed before all of its parents (root first).

    `parents_of(node)` returns the nodes `node` was computed from. An explicit stack
    replaces recursion: a chain of 100,000 operations would overflow Python's
    recursion limit (about 1,000 frames).
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)           # post-order: after everything it depends on
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in parents_of(node):
            if id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()                      # leaves-first becomes root-first
    return order
