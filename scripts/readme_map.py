"""Write the README's map of the tree ("What is where") from the tree itself.

Every row is a path that exists, described by what that path says of itself: a role by
its meta/main.yml description, a module by its short_description, a Python file by the
first sentence of its docstring, a Markdown file by its title, pyproject.toml by its
description, any other file by the
first sentence of its header comment, a directory by its README.md, by its hosts.yml or
molecule.yml header, or else by what it holds. Run it after adding, moving or removing
anything the map shows:

    .venv/bin/python scripts/readme_map.py           # rewrite README.md between the markers
    .venv/bin/python scripts/readme_map.py --check   # exit 1 when README.md is out of date

tests/lint/test_readme_map.py runs the check.
"""

import argparse
import ast
import difflib
import pathlib
import re
import sys
import tomllib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- map:start -->", "<!-- map:end -->"

# What the map shows, in the order a newcomer reads it: (heading, globs). Globs, not a list
# of files, so whatever lands under these folders appears by itself.
SECTIONS = [
    (
        "Set up and run",
        ["scripts/*.sh", "scripts/*.py", ".ci/run", "requirements.txt", "requirements.lock", "pyproject.toml"],
    ),
    ("Ansible project and collection", ["ansible.cfg", "galaxy.yml", "meta/*.yml"]),
    ("Inventories", ["inventories/*/"]),
    ("Playbooks, one per operator intent", ["playbooks/*.yml", "playbooks/vars/*.yml", "playbooks/tasks/*.yml"]),
    ("Roles, one per component", ["roles/*/"]),
    (
        "Python: modules and their shared code",
        [
            "plugins/modules/*.py",
            "plugins/module_utils/*/",
            "plugins/module_utils/*.py",
            "plugins/doc_fragments/*.py",
            "plugins/filter/*.py",
            "plugins/lookup/*.py",
        ],
    ),
    ("The reference application", ["app/*.py", "app/pyproject.toml", "app/requirements.lock", "app/*/"]),
    ("Files the roles and playbooks ship", ["compose/*", "files/*/*/"]),
    ("Tests", [".config/molecule/*.yml", "molecule/*/", "tests/*/", "tests/*.py"]),
    ("Benchmarks", ["bench/*.py"]),
    ("Documentation", ["docs/*.md", "CHANGELOG.md"]),
]
SKIPPED = {"__init__.py", "__pycache__", "conftest.py"}
# Top-level entries the map leaves out: the README holds the map, COPYING is the licence.
UNMAPPED = {"README.md", "COPYING"}


def first_sentence(text):
    text = " ".join(text.split())
    match = re.search(r"\.(\s|$)", text)
    return text[: match.start() + 1] if match else text


def header_comment(path):
    """The first comment block of a file, after a shebang, a YAML start and Ansible's managed line."""
    lines = []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not lines and (stripped in ("", "---") or stripped.startswith("#!") or "ansible_managed" in stripped):
            continue
        if not stripped.startswith("#"):
            break
        lines.append(stripped.lstrip("#").strip())
    return " ".join(lines)


def python_description(path):
    tree = ast.parse(path.read_text())
    if path.parent.name == "modules":
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION":
                return yaml.safe_load(node.value.value)["short_description"] + "."
    return first_sentence((ast.get_docstring(tree) or "").split("\n\n")[0])


def file_description(path):
    if path.suffix == ".py":
        return python_description(path)
    if path.suffix == ".toml":
        return tomllib.loads(path.read_text())["project"]["description"] + "."
    if path.suffix == ".md":
        return next(line.lstrip("# ").strip() for line in path.read_text().splitlines() if line.startswith("# "))
    return first_sentence(header_comment(path))


def readme_paragraph(path):
    paragraphs = [p for p in path.read_text().split("\n\n") if p.strip() and not p.startswith("#")]
    return first_sentence(paragraphs[0]) if paragraphs else ""


def contents(directory):
    """What a directory holds: each Python file with the start of its first sentence, the rest by name."""
    parts = []
    for child in sorted(directory.iterdir()):
        if child.name in SKIPPED or child.name.startswith("."):
            continue
        if child.is_dir():
            names = sorted(c.stem for c in child.iterdir() if c.name not in SKIPPED and not c.name.startswith("."))
            parts.append(f"`{child.name}/`" + (f" ({', '.join(names)})" if names else ""))
        elif child.suffix == ".py" and python_description(child):
            # One cell holds many files: each says what it is up to its first colon.
            parts.append(f"`{child.name}`: {python_description(child).split(': ')[0].rstrip('.')}")
        else:
            parts.append(f"`{child.name}`")
    return "; ".join(parts)


def directory_description(path):
    if (path / "meta" / "main.yml").is_file():
        return yaml.safe_load((path / "meta" / "main.yml").read_text())["galaxy_info"]["description"] + "."
    for self_description in ("hosts.yml", "molecule.yml"):
        if (path / self_description).is_file():
            return first_sentence(header_comment(path / self_description))
    if (path / "README.md").is_file():
        return readme_paragraph(path / "README.md")
    return contents(path)


def describe(path):
    text = directory_description(path) if path.is_dir() else file_description(path)
    if not text:
        raise SystemExit(f"{path.relative_to(ROOT)} does not say what it is: give it a header comment or docstring")
    return text.replace("|", "\\|")


def rows(globs):
    """The paths the globs match, in glob order; a glob ending in / matches directories only."""
    paths = []
    for pattern in globs:
        for path in sorted(ROOT.glob(pattern.rstrip("/"))):
            if path.name not in SKIPPED and path.is_dir() == pattern.endswith("/") and path not in paths:
                paths.append(path)
    return paths


def generate():
    out = [START]
    for heading, globs in SECTIONS:
        paths = rows(globs)
        if not paths:
            continue
        out += ["", f"### {heading}", "", "| path | what |", "| --- | --- |"]
        for path in paths:
            name = str(path.relative_to(ROOT)) + ("/" if path.is_dir() else "")
            out.append(f"| `{name}` | {describe(path)} |")
    out += ["", END]
    return "\n".join(out)


def with_map(readme_text):
    if START not in readme_text or END not in readme_text:
        raise SystemExit(f"README.md lacks the markers {START} and {END} around its map")
    before, rest = readme_text.split(START, 1)
    after = rest.split(END, 1)[1]
    return before + generate() + after


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md's map is out of date")
    args = parser.parse_args()
    current = README.read_text()
    wanted = with_map(current)
    if args.check:
        if current != wanted:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True)))
            print("README.md's map is out of date: run scripts/readme_map.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
