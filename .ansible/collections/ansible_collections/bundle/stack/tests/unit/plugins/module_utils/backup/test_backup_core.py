"""The engine-independent parts of db_backup and db_restore: names, checksums,
the manifest and its own checksum, the atomic rename, choosing a backup,
retention and the row-count comparison."""

import datetime
import hashlib
import json
import os

import pytest
from ansible_collections.bundle.stack.plugins.module_utils.backup import files
from ansible_collections.bundle.stack.plugins.module_utils.backup.catalog import (
    apply_retention,
    check_name,
    choose_backup,
    default_name,
    retention_plan,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.checksums import (
    checksum_tree,
    sha256_file,
    verify_tree,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import (
    BackupError,
    RestoreRequest,
    compare_counts,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.files import WorkDirectory, rename_noreplace
from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import (
    MANIFEST,
    MANIFEST_SUM,
    format_size,
    read_manifest,
    write_manifest,
)

NOW = datetime.datetime(2025, 6, 30, 12, 0, tzinfo=datetime.UTC)


def manifest_for(name, started, engine='postgres', database='app', kind='backup'):
    return dict(manifest_version=1, name=name, engine=engine, database=database, kind=kind,
                started_at=started, finished_at=started, files={}, row_counts={})


def make_backup(root, name, started, **kwargs):
    directory = root / name
    directory.mkdir(parents=True)
    (directory / 'data.bin').write_bytes(name.encode())
    manifest = manifest_for(name, started, **kwargs)
    manifest['files'] = checksum_tree(str(directory))
    write_manifest(str(directory), manifest)
    return directory


def test_sha256_of_a_file_larger_than_a_chunk(tmp_path):
    path = tmp_path / 'big'
    data = os.urandom(3 * 1024 + 17)
    path.write_bytes(data)
    assert sha256_file(str(path), chunk=1024) == hashlib.sha256(data).hexdigest()


def test_checksum_tree_lists_every_file_but_the_manifest(tmp_path):
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'a').write_bytes(b'a')
    (tmp_path / 'globals.sql').write_bytes(b'bb')
    (tmp_path / MANIFEST).write_text('{}')
    files = checksum_tree(str(tmp_path), jobs=4)
    assert files == {'data/a': {'sha256': hashlib.sha256(b'a').hexdigest(), 'size': 1},
                     'globals.sql': {'sha256': hashlib.sha256(b'bb').hexdigest(), 'size': 2}}


def test_verify_tree_names_every_problem(tmp_path):
    for name in ('same', 'flipped', 'shorter', 'gone'):
        (tmp_path / name).write_bytes(b'0123456789')
    files = checksum_tree(str(tmp_path))
    assert verify_tree(str(tmp_path), files) == []
    (tmp_path / 'flipped').write_bytes(b'0123456788')
    (tmp_path / 'shorter').write_bytes(b'012345678')
    (tmp_path / 'gone').unlink()
    (tmp_path / 'new').write_bytes(b'x')
    problems = dict(verify_tree(str(tmp_path), files, jobs=3))
    assert set(problems) == {'flipped', 'shorter', 'gone', 'new'}
    assert problems['flipped'].startswith('has SHA-256 ')
    assert problems['shorter'] == 'has 9 bytes, the manifest says 10'
    assert problems['gone'] == 'is missing'
    assert problems['new'] == 'is not listed in the manifest'


def test_the_manifest_carries_its_own_checksum(tmp_path):
    manifest = manifest_for('b', '2025-01-01T00:00:00Z')
    write_manifest(str(tmp_path), manifest)
    assert read_manifest(str(tmp_path)) == manifest
    recorded = (tmp_path / MANIFEST_SUM).read_text().split()
    assert recorded == [hashlib.sha256((tmp_path / MANIFEST).read_bytes()).hexdigest(), MANIFEST]
    (tmp_path / MANIFEST).write_text(json.dumps(dict(manifest, database='other')))
    with pytest.raises(BackupError, match=r'manifest.json has SHA-256 \w+\.\.\., manifest.json.sha256 says'):
        read_manifest(str(tmp_path))


def test_a_manifest_without_its_keys_is_refused(tmp_path):
    (tmp_path / MANIFEST).write_text('{"name": "x"}')
    with pytest.raises(BackupError, match='lacks manifest_version, engine, database'):
        read_manifest(str(tmp_path), check_sum=False)


@pytest.mark.parametrize('name', ['postgres-app-20250101T000000Z', 'a', 'A.b_c-1'])
def test_good_names(name):
    check_name(name)


@pytest.mark.parametrize('name', ['', '.hidden', '../x', 'a/b', '-dash', 'with space', 'x' * 201])
def test_bad_names(name):
    with pytest.raises(BackupError, match='is not allowed'):
        check_name(name)


def test_default_names():
    moment = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert default_name('postgres', 'app', moment) == 'postgres-app-20250102T030405Z'
    assert default_name('postgres', 'my db/x', moment, 'safety') == 'postgres-my_db_x-20250102T030405Z-safety'


@pytest.mark.parametrize('renameat2', [True, False], ids=['renameat2', 'fallback'])
def test_rename_never_replaces_even_an_empty_directory(tmp_path, monkeypatch, renameat2):
    if not renameat2:
        monkeypatch.setattr(files, '_renameat2', lambda: None)
    (tmp_path / 'work').mkdir()
    (tmp_path / 'work' / 'f').write_text('new')
    (tmp_path / 'final').mkdir()
    with pytest.raises(FileExistsError):
        rename_noreplace(str(tmp_path / 'work'), str(tmp_path / 'final'))
    assert (tmp_path / 'work' / 'f').exists()
    rename_noreplace(str(tmp_path / 'work'), str(tmp_path / 'other'))
    assert (tmp_path / 'other' / 'f').read_text() == 'new'


def test_work_directory_is_hidden_and_removed_on_failure(tmp_path):
    with pytest.raises(RuntimeError), WorkDirectory(str(tmp_path), 'b1') as work:
        assert os.path.basename(work.path).startswith('.b1.') and work.path.endswith('.partial')
        assert oct(os.stat(work.path).st_mode & 0o777) == '0o700'
        raise RuntimeError('dump failed')
    assert os.listdir(tmp_path) == []


def test_work_directory_commit_refuses_an_existing_backup(tmp_path):
    (tmp_path / 'b1').mkdir()
    with pytest.raises(BackupError, match='appeared while the backup ran'), \
            WorkDirectory(str(tmp_path), 'b1') as work:
        work.commit(manifest_for('b1', '2025-01-01T00:00:00Z'))
    assert os.listdir(tmp_path) == ['b1'] and os.listdir(tmp_path / 'b1') == []


BACKUPS = [dict(name=f'b{day}', manifest=dict(started_at=f'2025-06-{day:02d}T12:00:00Z')) for day in range(20, 31)]


@pytest.mark.parametrize('keep_last, keep_days, kept', [
    (None, None, [f'b{d}' for d in range(30, 19, -1)]),
    (3, None, ['b30', 'b29', 'b28']),
    (None, 2, ['b30', 'b29', 'b28']),  # 28th at 12:00 is exactly two days old: kept
    (1, 5, ['b30', 'b29', 'b28', 'b27', 'b26', 'b25']),
    (8, 2, [f'b{d}' for d in range(30, 22, -1)]),
    (0, 0, [f'b{d}' for d in range(30, 19, -1)]),
])
def test_retention_plan_keeps_what_any_rule_keeps(keep_last, keep_days, kept):
    keep, remove = retention_plan(BACKUPS, keep_last, keep_days, NOW)
    assert keep == kept
    assert sorted(remove) == sorted(set(b['name'] for b in BACKUPS) - set(kept))


def test_apply_retention_touches_only_its_series(tmp_path):
    for day in (1, 2, 3, 4):
        make_backup(tmp_path, f'app-{day}', f'2025-06-0{day}T00:00:00Z')
    make_backup(tmp_path, 'other-db', '2025-01-01T00:00:00Z', database='other')
    make_backup(tmp_path, 'redis-1', '2025-01-01T00:00:00Z', engine='redis', database='redis')
    make_backup(tmp_path, 'app-safety', '2025-01-01T00:00:00Z', kind='safety')
    (tmp_path / '.app-5.abc.partial').mkdir()

    kept, removed = apply_retention(str(tmp_path), 'postgres', 'app', 2, None, NOW, check_mode=True)
    assert (kept, removed) == (['app-4', 'app-3'], ['app-2', 'app-1'])
    assert len(os.listdir(tmp_path)) == 8

    kept, removed = apply_retention(str(tmp_path), 'postgres', 'app', 1, None, NOW, protect='app-2')
    assert kept == ['app-2', 'app-4'] and sorted(removed) == ['app-1', 'app-3']
    assert sorted(os.listdir(tmp_path)) == ['.app-5.abc.partial', 'app-2', 'app-4', 'app-safety', 'other-db',
                                            'redis-1']


def test_check_mode_retention_counts_the_backup_it_would_take(tmp_path):
    for day in (1, 2):
        make_backup(tmp_path, f'app-{day}', f'2025-06-0{day}T00:00:00Z')
    kept, removed = apply_retention(str(tmp_path), 'postgres', 'app', 2, None, NOW, pending='app-new',
                                    check_mode=True)
    assert (kept, removed) == (['app-new', 'app-2'], ['app-1'])


def test_choose_backup_latest_and_by_name(tmp_path):
    make_backup(tmp_path, 'app-1', '2025-06-01T00:00:00Z')
    make_backup(tmp_path, 'app-2', '2025-06-02T00:00:00Z')
    make_backup(tmp_path, 'app-3-safety', '2025-06-03T00:00:00Z', kind='safety')
    make_backup(tmp_path, 'other-9', '2025-06-09T00:00:00Z', database='other')
    assert choose_backup(str(tmp_path), 'latest', 'postgres', 'app') == str(tmp_path / 'app-2')
    assert choose_backup(str(tmp_path), 'latest', 'postgres') == str(tmp_path / 'other-9')
    assert choose_backup(str(tmp_path), 'app-3-safety', 'postgres') == str(tmp_path / 'app-3-safety')
    with pytest.raises(BackupError, match="backup 'app-7' not found in .*; available: app-1, app-2"):
        choose_backup(str(tmp_path), 'app-7', 'postgres', 'app')
    with pytest.raises(BackupError, match='no complete backup of mysql database app'):
        choose_backup(str(tmp_path), 'latest', 'mysql', 'app')


def test_a_series_holds_the_backups_recorded_under_the_old_engine_name(tmp_path):
    make_backup(tmp_path, 'app-1', '2025-06-01T00:00:00Z', engine='postgres')
    make_backup(tmp_path, 'app-2', '2025-06-02T00:00:00Z', engine='postgresql')
    assert choose_backup(str(tmp_path), 'latest', 'postgresql', 'app') == str(tmp_path / 'app-2')
    assert choose_backup(str(tmp_path), 'latest', 'postgres', 'app') == str(tmp_path / 'app-2')
    kept, removed = apply_retention(str(tmp_path), 'postgresql', 'app', 1, None, NOW, check_mode=True)
    assert (kept, removed) == (['app-2'], ['app-1'])


def test_compare_counts_names_each_difference():
    expected = {'a': 1, 'b': 2, 'c': 3}
    assert compare_counts(expected, dict(expected)) == []
    assert compare_counts(expected, {'a': 1, 'b': 5, 'd': 0}) == [
        'b: 5 rows after restore, backup has 2',
        'c: missing after restore (backup has 3 rows)',
        'd: not in the backup (0 rows after restore)',
    ]
    compare = RestoreRequest(path='/b1', manifest=dict(name='b1', row_counts=expected), target='app', replace=False,
                             verify_only=False, marker='').compare
    assert compare(dict(expected)) == 3
    with pytest.raises(BackupError, match=r'row counts differ from backup b1 in 1 table\(s\): a: 0 rows'):
        compare({'a': 0, 'b': 2, 'c': 3})


@pytest.mark.parametrize('size, text', [(0, '0 B'), (1023, '1023 B'), (1536, '1.5 KiB'), (5 * 2**30, '5.0 GiB')])
def test_format_size(size, text):
    assert format_size(size) == text
