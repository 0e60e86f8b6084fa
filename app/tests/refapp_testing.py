"""Helpers the app tests import, kept out of conftest.py because `conftest` is not a
unique module name in this repository's test run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / 'app' / 'migrations' / 'postgresql'
DB_PASSWORD = 'app-' + uuid.uuid4().hex


def apply_migrations(pg, database, path=MIGRATIONS):
    """bundle.stack.schema_migrate on database, as Ansible runs a module (a JSON arguments file)."""
    with tempfile.TemporaryDirectory(prefix='refapp-migrate-') as tmp:
        arguments = Path(tmp) / 'args.json'
        arguments.write_text(json.dumps(dict(ANSIBLE_MODULE_ARGS=dict(
            database=database, login_host='127.0.0.1', port=pg.port, login_user='app', login_password=DB_PASSWORD,
            path=str(path), backup_dir=str(Path(tmp) / 'backups')))))
        completed = subprocess.run([sys.executable, REPO / 'plugins' / 'modules' / 'schema_migrate.py', arguments],
                                   capture_output=True, text=True, timeout=120, check=False,
                                   env=dict(os.environ, PYTHONPATH=str(REPO / '.collections')))
    result = json.loads(completed.stdout)
    assert not result.get('failed'), result
    return result


def get(url, timeout=10):
    """(status, JSON body or text) of a GET; any HTTP status is an answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode()


def post(url, document, timeout=10):
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method='POST',
                                     headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f'{what}: not within {seconds} s')
