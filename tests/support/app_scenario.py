"""What the verifiers of a scenario that runs the application share (molecule/app,
molecule/release): its hosts by inventory group, their addresses, the proxy's URL, the
version of the release the scenario converged with, and a GET that reads JSON."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import requests
import testinfra
import yaml

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SCENARIO = pathlib.Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
# The scenario's prepare.yml built the release there (BUNDLE_APP_RELEASE_DIR).
RELEASE_DIR = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "release"
GROUPS = {name: sorted(group.get("hosts") or {}) for name, group in
          yaml.safe_load(pathlib.Path(INVENTORY).read_text()).items() if name != "all"}


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


HOSTS = {name: host(name) for name in sorted({name for names in GROUPS.values() for name in names})}
ADDRESSES = {name: target.check_output("hostname -I").split()[0] for name, target in HOSTS.items()}
APP_HOSTS = GROUPS["app"]
PROXY_HOST, MONITOR_HOST = GROUPS["proxy"][0], GROUPS["monitoring"][0]
MONITOR = HOSTS[MONITOR_HOST]
PROXY = f"http://{ADDRESSES[PROXY_HOST]}"
BACKENDS = {name: f"http://{ADDRESSES[name]}:8000" for name in APP_HOSTS}
VERSION = json.loads(subprocess.run(
    ["tar", "-xzOf", str(max(RELEASE_DIR.glob("refapp-*.tar.gz"))), "--wildcards", "*/release.json"],
    capture_output=True, check=True).stdout)["version"]


def get(url, timeout=5):
    """The status code and, when the answer is JSON, its body."""
    response = requests.get(url, timeout=timeout)
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    return response.status_code, body
