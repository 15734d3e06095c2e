"""House rules of the code's layout (issue 10), checked on the source with `ast`:

* no import cycle among the package's modules, imports inside functions included;
* imports run one way: zoo -> nn -> autograd -> kernels (never upwards);
* nothing in nn/ or zoo/ names a device, a storage or a kernel module (nn asks the backend,
  through Tensor methods);
* no zoo entry id appears in the zoo's machinery (only chapter modules name entries).

Self-contained on purpose: CI runs it from a fresh clone, without any tool outside the repo.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_book"
DEVICE_NAMES = {"numpy", "cpu", "cuda"}
LAYERS = ["kernels", "autograd", "nn", "zoo"]     # bottom to top


def module_files(root: Path = PACKAGE) -> dict:
    """{'tinygrad_book.nn.model': path, 'tinygrad_book.nn': .../nn/__init__.py, ...}"""
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(module: str, path: Path, modules: dict) -> set:
    """The package modules `module` imports anywhere in its file (functions included),
    each resolved to the longest name that is a module of the package."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                source = base + ("." + node.module if node.module else "")
            else:
                source = node.module or ""
            names = [f"{source}.{a.name}" for a in node.names] + [source]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph(modules: dict) -> dict:
    """module -> modules it imports, without the edges that are not design: a module and
    its own ancestors (re-exports of __init__), a package and its own submodules."""
    graph = {}
    for module, path in modules.items():
        targets = imported_modules(module, path, modules)
        graph[module] = {t for t in targets if t != module and not t.startswith(module + ".")
                         and not module.startswith(t + ".")}
    return graph


def cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop(); on_stack.discard(w); component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .c import g\n")
    (pkg / "c.py").write_text("from .a import x\n")
    (pkg / "d.py").write_text("from . import a\n")
    assert cycles(import_graph(module_files(pkg))) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_cycles():
    assert cycles(import_graph(module_files())) == []


def _layer(module: str):
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_imports_run_zoo_nn_autograd_kernels():
    upward = []
    for module, targets in import_graph(module_files()).items():
        for target in targets:
            if _layer(module) is not None and _layer(target) is not None and _layer(target) > _layer(module):
                upward.append(f"{module} -> {target}")
    assert upward == []


# --- nothing above the backend names a device, a storage or a kernel module ------------------
def _files(*folders):
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


def _names_a_device(node) -> bool:
    return isinstance(node, ast.Constant) and node.value in DEVICE_NAMES


def device_mentions(tree) -> list:
    """Device names used *as devices*: compared with, passed as device= / choices= / to
    .to() / get_backend() / set_default_device(), or a `device` parameter's default."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            found += [n for n in [node.left, *node.comparators] if _names_a_device(n)]
        elif isinstance(node, ast.keyword) and node.arg in ("device", "choices"):
            found += [n for n in ast.walk(node.value) if _names_a_device(n)]
        elif isinstance(node, ast.Call):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if func in ("to", "get_backend", "set_default_device"):
                found += [n for n in node.args if _names_a_device(n)]
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
            args = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults
            defaults += node.args.kw_defaults
            found += [d for a, d in zip(args, defaults) if a.arg == "device" and d is not None and _names_a_device(d)]
    return [f"line {n.lineno}: {n.value!r}" for n in found]


def below_the_seam(tree, module, path, modules) -> list:
    """Kernel modules imported, and storages or views touched."""
    found = [f"imports {t}" for t in imported_modules(module, path, modules) if t.startswith("tinygrad_book.kernels")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("storage", "view"):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", _files("nn", "zoo"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nn_and_zoo_name_no_device_storage_or_kernel_module(path):
    modules = module_files()
    module = next(m for m, p in modules.items() if p == path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert device_mentions(tree) + below_the_seam(tree, module, path, modules) == []


def test_the_seam_check_sees_what_it_forbids(tmp_path):
    source = ('from tinygrad_book.kernels.cpu import optim\n'
              'def f(p, device="cpu"):\n'
              '    if p.device != "cuda":\n'
              '        p.view = p.view.storage\n'
              '    return Tensor(1, device="numpy").to("cpu")\n')
    path = tmp_path / "x.py"
    path.write_text(source)
    tree = ast.parse(source)
    assert len(device_mentions(tree)) == 4
    modules = {"tinygrad_book.kernels.cpu.optim": None, "x": path}
    assert sorted(below_the_seam(tree, "x", path, modules)) == [
        "imports tinygrad_book.kernels.cpu.optim", "line 4: .storage", "line 4: .view", "line 4: .view"]


# --- the zoo's machinery never names an entry --------------------------------------------------
ENTRY_ID = re.compile(r"^ch\d+-[a-z0-9-]+$")


@pytest.mark.parametrize("path", [p for p in _files("zoo") if not p.name.startswith("chapter")],
                         ids=lambda p: p.name)
def test_only_chapter_modules_name_entry_ids(path):
    ids = [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
           if isinstance(n, ast.Constant) and isinstance(n.value, str) and ENTRY_ID.match(n.value)]
    assert ids == []
