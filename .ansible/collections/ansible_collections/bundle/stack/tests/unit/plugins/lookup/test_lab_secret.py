"""lab_secret: created once, read by many at once without waiting, files of the password lookup read as they are.

The plugin imports Ansible's controller code, which changes how in-process module
runs report warnings; so it is only ever loaded in child processes here."""

import json
import os
import pathlib
import stat
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[4]
CALL = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location('lab_secret', sys.argv[1])
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
try:
    print(json.dumps({'value': getattr(plugin, sys.argv[2])(*sys.argv[3:4], *map(int, sys.argv[4:]))}))
except Exception as exc:
    print(json.dumps({'error': str(exc)}))
"""


def start(function, path, *numbers):
    return subprocess.Popen([sys.executable, '-c', CALL, str(REPO / 'plugins' / 'lookup' / 'lab_secret.py'),
                             function, str(path), *map(str, numbers)], stdout=subprocess.PIPE, text=True)


def call(function, path, *numbers):
    out, _ = start(function, path, *numbers).communicate(timeout=60)
    return json.loads(out)


def test_a_new_secret_is_random_long_and_private(tmp_path):
    path = tmp_path / 'secrets' / 'app'
    first = call('create_secret', path, 32)['value']
    assert len(first) == 32 and first.isalnum()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert call('create_secret', tmp_path / 'secrets' / 'other', 32)['value'] != first


def test_the_first_writer_wins_and_everyone_reads_its_secret(tmp_path):
    path = tmp_path / 'race'
    racers = [start('create_secret', path, 32) for _ in range(16)]
    values = [json.loads(racer.communicate(timeout=60)[0])['value'] for racer in racers]
    assert len(set(values)) == 1
    assert path.read_text().split() == [values[0]]
    assert os.listdir(tmp_path) == ['race']  # no candidate files left behind


def test_a_password_lookup_file_is_read_as_it_is(tmp_path):
    path = tmp_path / 'old'
    path.write_text('s3cretFromPasswordLookup salt=abcdefgh\n')
    assert call('read_secret', path) == {'value': 's3cretFromPasswordLookup'}


def test_an_empty_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / 'empty'
    path.write_text('\n')
    assert str(path) in call('read_secret', path)['error']


def test_ansible_finds_it_by_name_and_reads_without_a_lock_file(tmp_path, ansible_adhoc):
    secrets_dir = tmp_path / 'secrets'
    values = []
    for _ in range(2):  # the first run creates the secret, the second reads it
        rc, result = ansible_adhoc('ansible.builtin.debug',
                                   f"msg={{{{ lookup('bundle.stack.lab_secret', '{secrets_dir}/app') }}}}")
        assert rc == 0, result
        values.append(result['msg'])
    assert values[0] == values[1] == (secrets_dir / 'app').read_text().split()[0]
    # ansible.builtin.password would leave <sha1>.ansible_lockfile behind while reading.
    assert os.listdir(secrets_dir) == ['app']
