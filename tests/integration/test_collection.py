"""The collection bundle.stack builds, installs into a user's own project and runs from there.

Everything after the build runs in a fresh project directory outside the clone, with no
ansible.cfg of ours and ANSIBLE_COLLECTIONS_PATH naming only the install directory: whatever
resolves there (modules, their module_utils, roles, playbooks) came from the tarball."""

import json
import os
import pathlib
import socket
import subprocess
import sys
import tarfile

import pytest
import yaml
from test_preflight import inventory

PROJECT = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
MODULES = sorted(p.stem for p in (PROJECT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
LOCAL_STATE = (".venv", ".ansible", ".cache", ".git", ".collections", ".lab", "reports")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build the tarball, install it, return (tarball, installed collection dir, run in the user's project)."""
    base = tmp_path_factory.mktemp("collection")
    built = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path",
                            str(base / "dist"), str(PROJECT)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    (tarball,) = (base / "dist").glob("bundle-stack-*.tar.gz")
    collections = base / "collections"
    project = base / "project"
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(base / "ansible-local"), ANSIBLE_REMOTE_TMP=str(base / "ansible-remote"))

    def run(*command):
        return subprocess.run([str(VENV_BIN / command[0]), *command[1:]], cwd=project, env=env,
                              capture_output=True, text=True, timeout=120)

    done = run("ansible-galaxy", "collection", "install", str(tarball), "-p", str(collections))
    assert done.returncode == 0, done.stdout + done.stderr
    return tarball, collections / "ansible_collections" / "bundle" / "stack", run


def member(tarball, name):
    with tarfile.open(tarball) as archive:
        return json.load(archive.extractfile(name))


def test_the_tarball_holds_the_collection_and_none_of_the_clones_local_state(installed):
    tarball, _, _ = installed
    assert member(tarball, "MANIFEST.json")["collection_info"]["name"] == "stack"
    files = {entry["name"] for entry in member(tarball, "FILES.json")["files"]}
    for shipped in ("meta/runtime.yml", "COPYING", "playbooks/site.yml", "playbooks/preflight.yml",
                    "roles/postgresql/tasks/main.yml", "roles/prometheus/templates/etc/prometheus/prometheus.yml.j2",
                    "plugins/modules/health_probe.py", "plugins/lookup/lab_secret.py", "plugins/filter/bundle_files.py",
                    "plugins/doc_fragments/backup.py", "files/prometheus/rules"):
        assert shipped in files, shipped
    assert {f"plugins/module_utils/{p.name}" for p in (PROJECT / "plugins" / "module_utils").glob("*.py")} <= files
    leaked = sorted(name for name in files if name.split("/")[0] in LOCAL_STATE)
    assert not leaked, leaked


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_every_module_from_the_installed_collection(installed, module):
    _, root, run = installed
    result = run("ansible-doc", f"bundle.stack.{module}")
    assert result.returncode == 0, result.stderr
    assert "EXAMPLES" in result.stdout and "RETURN VALUES" in result.stdout
    assert str(root / "plugins" / "modules" / f"{module}.py") in result.stdout


def test_a_module_and_its_module_utils_run_from_the_installed_collection(installed, tmp_path):
    _, _, run = installed
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        playbook = tmp_path / "probe.yml"
        playbook.write_text(yaml.safe_dump([{
            "name": "Probe a port this test listens on", "hosts": "localhost", "gather_facts": False,
            "tasks": [{"name": "Wait for the port", "register": "probe",
                       "bundle.stack.health_probe": {"kind": "tcp", "port": port, "timeout": 5}},
                      {"name": "Show the verdict", "ansible.builtin.debug": {"var": "probe.verdict"}}],
        }]))
        result = run("ansible-playbook", "-i", "localhost,", "-c", "local",
                     "-e", f"ansible_python_interpreter={sys.executable}", str(playbook))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert '"probe.verdict": "pass"' in result.stdout


def test_a_playbook_of_the_collection_runs_by_its_fqcn_with_the_roles_it_includes(installed, tmp_path):
    _, _, run = installed
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(yaml.safe_dump(inventory()))  # every host on a closed port: any contact would show
    result = run("ansible-playbook", "-i", str(hosts), "bundle.stack.preflight")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "UNREACHABLE" not in result.stdout
    for role in ("postgresql", "pgbouncer"):
        assert f"bundle.stack.{role} : " in result.stdout, role
