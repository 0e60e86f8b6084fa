"""The README's map of the tree ("What is where") is what scripts/readme_map.py generates from the
tree, and the generator's globs reach every top-level entry of the repository, so a role, playbook,
package or test folder that is added, moved or removed shows in the map."""

import importlib.util
import pathlib
import subprocess

PROJECT = pathlib.Path(__file__).resolve().parents[2]
FIX = "run .venv/bin/python scripts/readme_map.py and commit README.md"


def readme_map():
    spec = importlib.util.spec_from_file_location("readme_map", PROJECT / "scripts" / "readme_map.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_map_is_generated_from_the_tree():
    current = (PROJECT / "README.md").read_text()
    assert current == readme_map().with_map(current), f"README.md's map differs from the tree: {FIX}"


def test_every_top_level_entry_is_mapped():
    generator = readme_map()
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    top_level = {path.split("/")[0] for path in tracked.splitlines()} - generator.UNMAPPED
    mapped = {path.relative_to(PROJECT).parts[0] for _, globs in generator.SECTIONS for path in generator.rows(globs)}
    # Hidden entries are tool settings (.yamllint, .ansible-lint, ...), not part of the map.
    unmapped = sorted(name for name in top_level - mapped if not name.startswith("."))
    assert not unmapped, f"no glob of SECTIONS in scripts/readme_map.py reaches {unmapped}: add one, then {FIX}"
