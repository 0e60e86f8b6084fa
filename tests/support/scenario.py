"""What molecule verifiers share: a playbook of the repository run on the scenario's hosts,
as molecule runs its own (the scenario's inventory and secrets, this clone's ansible.cfg)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_playbook(playbook, *args, timeout=900):
    """ansible-playbook on the scenario's inventory; the result, its stdout without colour codes."""
    project = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
    secrets = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
    env = {key: value for key, value in os.environ.items() if key != "ANSIBLE_FORCE_COLOR"}
    env.update(BUNDLE_SECRETS_DIR=str(secrets), ANSIBLE_CONFIG=str(project / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook), *args],
                            cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
    result.stdout = ANSI.sub("", result.stdout)
    return result
