"""file_is_current against the result of a real ansible.builtin.find on real files."""

import grp
import importlib.util
import os
import pathlib
import pwd

import pytest

REPO = pathlib.Path(__file__).resolve().parents[4]

spec = importlib.util.spec_from_file_location('bundle_files', REPO / 'plugins' / 'filter' / 'bundle_files.py')
bundle_files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bundle_files)
file_is_current = bundle_files.file_is_current

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
CONTENT = 'ARGS="--web.listen-address=127.0.0.1:9100"\n'


@pytest.fixture
def found(tmp_path, ansible_adhoc):
    """Write one file, then return what `find` with checksums reports of the directory."""
    def run(content=CONTENT, mode=0o600):
        path = tmp_path / 'files' / 'prometheus-node-exporter'
        path.parent.mkdir(exist_ok=True)
        path.write_text(content)
        path.chmod(mode)
        rc, result = ansible_adhoc('ansible.builtin.find',
                                   f'paths={path.parent} patterns=prometheus-* get_checksum=true')
        assert rc == 0, result
        return str(path), result
    return run


def test_same_content_mode_and_owner_is_current(found):
    path, result = found()
    assert file_is_current(result, path, CONTENT, '0600', OWNER, GROUP)


def test_other_content_is_not_current(found):
    path, result = found()
    assert not file_is_current(result, path, CONTENT.replace('9100', '9101'), '0600', OWNER, GROUP)


def test_a_missing_trailing_newline_is_a_difference(found):
    path, result = found()
    assert not file_is_current(result, path, CONTENT.rstrip('\n'), '0600', OWNER, GROUP)


def test_other_mode_is_not_current(found):
    path, result = found(mode=0o644)
    assert not file_is_current(result, path, CONTENT, '0600', OWNER, GROUP)


def test_other_owner_or_group_is_not_current(found):
    path, result = found()
    assert not file_is_current(result, path, CONTENT, '0600', 'nobody-else', GROUP)
    assert not file_is_current(result, path, CONTENT, '0600', OWNER, 'nogroup-else')


def test_a_file_the_find_did_not_list_is_not_current(found):
    path, result = found()
    assert not file_is_current(result, path + '.other', CONTENT, '0600', OWNER, GROUP)
    assert not file_is_current({}, path, CONTENT, '0600', OWNER, GROUP)
    assert not file_is_current(None, path, CONTENT, '0600', OWNER, GROUP)


def test_non_ascii_content_is_hashed_as_utf8(found):
    content = 'comment: "réplica lag"\n'
    path, result = found(content=content)
    assert file_is_current(result, path, content, '0600', OWNER, GROUP)
