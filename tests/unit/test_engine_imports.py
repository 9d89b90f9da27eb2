"""The engine's modules depend on each other one way (README, Architecture): no module
imports, at its top or inside a function, one that imports it back, directly or not."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = os.path.join(ROOT, "addons", "cgsms", "engine")


def _modules():
    return sorted(n[:-3] for n in os.listdir(ENGINE) if n.endswith(".py") and n != "__init__.py")


def _imports(name):
    """The engine modules ``name`` imports, wherever the import statement stands."""
    with open(os.path.join(ENGINE, name + ".py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        if node.module:
            found.add(node.module.split(".")[0])
        else:
            found.update(alias.name for alias in node.names)
    return found


def _graph():
    modules = set(_modules())
    return {name: _imports(name) & modules for name in modules}


def _cycle(graph):
    """One cycle of ``graph`` as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_engine_modules_import_each_other_one_way():
    cycle = _cycle(_graph())
    assert cycle is None, "import loop between engine modules: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_loop():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_every_engine_module_is_in_the_readme_picture():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in _modules() if name + ".py" not in section and name not in section]
    assert not missing, missing
