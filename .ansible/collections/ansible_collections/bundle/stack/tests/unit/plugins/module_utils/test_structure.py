"""The shape of plugins/module_utils: no file over MAX_LINES lines, and no import
cycle among its modules (imports inside functions count: a lazy import that
dodges a cycle at load time is still a cycle)."""

import ast
from pathlib import Path

MODULE_UTILS = Path(__file__).resolve().parents[4] / 'plugins' / 'module_utils'
MAX_LINES = 700
# How a module of module_utils is imported: through the collection path, or the
# ansible.module_utils path that ansible.cfg's module_utils setting also gives.
PREFIXES = ('ansible_collections.bundle.stack.plugins.module_utils', 'ansible.module_utils')


def module_name(path):
    """'health.kinds.tcp' for plugins/module_utils/health/kinds/tcp.py ('health' for its __init__.py)."""
    parts = path.relative_to(MODULE_UTILS).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def sources():
    return sorted(MODULE_UTILS.rglob('*.py'))


def local_name(dotted, known):
    """The module_utils module a dotted import names, or None when it names something else."""
    for prefix in PREFIXES:
        if dotted == prefix or dotted.startswith(prefix + '.'):
            name = dotted[len(prefix) + 1:]
            # `from package import module` names the module; `from module import function` the module.
            while name and name not in known:
                name = name.rpartition('.')[0]
            return name or None
    return None


def imports_of(path, known):
    """Every module_utils module that path imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f'{node.module}.{alias.name}' for alias in node.names]
        else:
            continue
        found.update(name for name in (local_name(dotted, known) for dotted in names) if name)
    return found


def import_graph():
    known = {module_name(path) for path in sources()}
    return {module_name(path): imports_of(path, known) - {module_name(path)} for path in sources()}


def cycles(graph):
    """Each import cycle once, as the list of modules around it (first module repeated at the end)."""
    found, done = [], set()

    def visit(name, trail):
        if name in trail:
            cycle = trail[trail.index(name):]
            start = cycle.index(min(cycle))
            rotated = cycle[start:] + cycle[:start]
            if rotated not in found:
                found.append(rotated)
            return
        if name in done:
            return
        for imported in sorted(graph.get(name, ())):
            visit(imported, trail + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    return [cycle + [cycle[0]] for cycle in found]


def test_no_module_utils_file_is_longer_than_the_limit():
    too_long = {str(path.relative_to(MODULE_UTILS)): lines for path in sources()
                if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert not too_long, f'plugins/module_utils files over {MAX_LINES} lines (split them by concern): {too_long}'


def test_module_utils_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, 'import cycles in plugins/module_utils: ' + '; '.join(' -> '.join(cycle) for cycle in found)


def test_the_import_graph_sees_imports_at_every_depth(tmp_path):
    """The checker itself: a lazy import inside a function is an edge, and a cycle through it is found."""
    graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
    assert cycles(graph) == [['a', 'b', 'c', 'a']]
    assert cycles({'a': {'b'}, 'b': set()}) == []
    source = tmp_path / 'lazy.py'
    source.write_text('def later():\n'
                      '    from ansible_collections.bundle.stack.plugins.module_utils.backup import engine\n'
                      '    from ansible.module_utils.health.probe import Probe\n'
                      '    import json\n')
    assert imports_of(source, {'backup', 'backup.engine', 'health', 'health.probe'}) == {'backup.engine',
                                                                                         'health.probe'}
