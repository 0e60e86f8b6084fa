"""lab_secret: created once, read by many at once without waiting, files of the password lookup read as they are."""

import concurrent.futures
import importlib.util
import os
import pathlib
import stat

import pytest
from ansible.errors import AnsibleLookupError

REPO = pathlib.Path(__file__).resolve().parents[4]

spec = importlib.util.spec_from_file_location('lab_secret', REPO / 'plugins' / 'lookup' / 'lab_secret.py')
lab_secret = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab_secret)


def test_a_new_secret_is_random_long_and_private(tmp_path):
    path = tmp_path / 'secrets' / 'app'
    first = lab_secret.create_secret(str(path), 32)
    assert len(first) == 32 and first.isalnum()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert lab_secret.create_secret(str(tmp_path / 'secrets' / 'other'), 32) != first


def test_the_first_writer_wins_and_everyone_reads_its_secret(tmp_path):
    path = str(tmp_path / 'race')
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: lab_secret.create_secret(path, 32), range(32)))
    assert len(set(values)) == 1
    assert lab_secret.read_secret(path) == values[0]
    assert os.listdir(tmp_path) == ['race']  # no candidate files left behind


def test_a_password_lookup_file_is_read_as_it_is(tmp_path):
    path = tmp_path / 'old'
    path.write_text('s3cretFromPasswordLookup salt=abcdefgh\n')
    assert lab_secret.read_secret(str(path)) == 's3cretFromPasswordLookup'


def test_an_empty_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / 'empty'
    path.write_text('\n')
    with pytest.raises(AnsibleLookupError, match=str(path)):
        lab_secret.read_secret(str(path))


def test_ansible_finds_it_by_name_and_reads_without_a_lock_file(tmp_path, ansible_adhoc, monkeypatch):
    secrets_dir = tmp_path / 'secrets'
    monkeypatch.setenv('ANSIBLE_LOOKUP_PLUGINS', str(REPO / 'plugins' / 'lookup'))
    values = []
    for _ in range(2):  # the first run creates the secret, the second reads it
        rc, result = ansible_adhoc('ansible.builtin.debug', f"msg={{{{ lookup('lab_secret', '{secrets_dir}/app') }}}}")
        assert rc == 0, result
        values.append(result['msg'])
    assert values[0] == values[1] == lab_secret.read_secret(str(secrets_dir / 'app'))
    # ansible.builtin.password would leave <sha1>.ansible_lockfile behind while reading.
    assert os.listdir(secrets_dir) == ['app']
