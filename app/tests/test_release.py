"""The release artifact: the same sources give the same bytes; another version is one option;
release.json lists every file with its checksum; its wheels alone install the application
(the conftest's release venv, made with --no-index, is what every other test runs)."""

import hashlib
import json
import tarfile

import pytest


def test_the_same_sources_give_the_same_bytes(build, tmp_path):
    first, first_sha = build.build('2.5.0', tmp_path / 'one')
    second, second_sha = build.build('2.5.0', tmp_path / 'two')
    assert first.name == second.name == 'refapp-2.5.0.tar.gz'
    assert first_sha == second_sha == hashlib.sha256(first.read_bytes()).hexdigest()
    assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / 'one' / 'refapp-2.5.0.tar.gz.sha256').read_text() == f'{first_sha}  refapp-2.5.0.tar.gz\n'


def test_release_json_names_the_version_and_every_file_with_its_checksum(build, tmp_path):
    artifact, _ = build.build('3.0.1', tmp_path)
    with tarfile.open(artifact) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert all(name == 'refapp-3.0.1' or name.startswith('refapp-3.0.1/') for name in members)
        assert {member.mtime for member in members.values()} == {build.EPOCH}
        release = json.load(tar.extractfile('refapp-3.0.1/release.json'))
        files = {name.removeprefix('refapp-3.0.1/'): hashlib.sha256(tar.extractfile(member).read()).hexdigest()
                 for name, member in members.items() if member.isfile() and not name.endswith('/release.json')}
    assert (release['name'], release['version'], release['wheel']) == (
        'refapp', '3.0.1', 'bundle_refapp-3.0.1-py3-none-any.whl')
    assert release['files'] == files
    assert {'frontend/index.html', 'frontend/status.js', 'migrations/postgresql/0001_items.sql',
            'requirements.lock', 'wheels/bundle_refapp-3.0.1-py3-none-any.whl'} <= set(files)
    lock = dict(line.split(' --hash=sha256:') for line in tar_text(artifact, 'refapp-3.0.1/requirements.lock')
                if line and not line.startswith('#'))
    wheels = {name for name in files if name.startswith('wheels/')}
    assert len(lock) == len(wheels) and lock['bundle-refapp==3.0.1'] == files[f'wheels/{release["wheel"]}']


def tar_text(artifact, name):
    with tarfile.open(artifact) as tar:
        return tar.extractfile(name).read().decode().splitlines()


def test_a_version_that_is_not_one_is_refused(build, tmp_path):
    with pytest.raises(build.BuildError, match="version '../x' is not a release version"):
        build.build('../x', tmp_path)
