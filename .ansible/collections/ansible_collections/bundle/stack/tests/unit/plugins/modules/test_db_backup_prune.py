"""db_backup_prune on directories of copied backups: the new copy is verified
against its manifest first, and only an intact copy lets retention remove the
older copies of its series."""

import os

import db_backup_prune
from ansible_collections.bundle.stack.plugins.module_utils.backup.checksums import checksum_tree
from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import utc_now, write_manifest


def make_copy(root, name, started, engine='postgres', database='app', kind='backup'):
    """A backup directory as db_backup writes it: files, manifest.json and its checksum."""
    directory = root / name
    (directory / 'data').mkdir(parents=True)
    (directory / 'data' / 'toc.dat').write_bytes(name.encode() * 100)
    (directory / 'globals.sql').write_text('CREATE ROLE app;\n')
    manifest = dict(manifest_version=1, name=name, engine=engine, database=database, kind=kind,
                    started_at=started, finished_at=started, files=checksum_tree(str(directory)),
                    row_counts={'public.t': 1})
    write_manifest(str(directory), manifest)
    return directory


def copies(root):
    for day in (1, 2, 3):
        make_copy(root, f'postgres-app-2025060{day}', f'2025-06-0{day}T00:00:00Z')
    make_copy(root, 'postgres-other-20250101', '2025-01-01T00:00:00Z', database='other')
    make_copy(root, 'postgres-app-20250101-safety', '2025-01-01T00:00:00Z', kind='safety')


def prune(run_module, root, backup, check_mode=False, **args):
    return run_module(db_backup_prune.main, dict(backup_dir=str(root), backup=backup, **args), check_mode=check_mode)


def test_an_intact_copy_lets_retention_remove_only_the_older_copies_of_its_series(run_module, tmp_path):
    copies(tmp_path)
    result = prune(run_module, tmp_path, 'postgres-app-20250603', keep_last=2)
    assert result['changed'] is True and result['files_verified'] == 2
    assert result['kept'] == ['postgres-app-20250603', 'postgres-app-20250602']
    assert result['removed'] == ['postgres-app-20250601']
    assert sorted(os.listdir(tmp_path)) == ['postgres-app-20250101-safety', 'postgres-app-20250602',
                                            'postgres-app-20250603', 'postgres-other-20250101']
    again = prune(run_module, tmp_path, 'postgres-app-20250603', keep_last=2)
    assert again['changed'] is False and again['removed'] == []


def test_retention_by_age_keeps_the_copy_just_made(run_module, tmp_path):
    copies(tmp_path)
    recent = utc_now().isoformat(timespec='seconds').replace('+00:00', 'Z')
    make_copy(tmp_path, 'postgres-app-now', recent)
    result = prune(run_module, tmp_path, 'postgres-app-20250602', keep_days=1)
    assert result['kept'] == ['postgres-app-20250602', 'postgres-app-now']
    assert sorted(result['removed']) == ['postgres-app-20250601', 'postgres-app-20250603']


def test_a_damaged_copy_fails_and_removes_nothing(run_module, tmp_path):
    copies(tmp_path)
    toc = tmp_path / 'postgres-app-20250603' / 'data' / 'toc.dat'
    data = bytearray(toc.read_bytes())
    data[10] ^= 1
    toc.write_bytes(bytes(data))
    before = sorted(os.listdir(tmp_path))
    result = prune(run_module, tmp_path, 'postgres-app-20250603', keep_last=1)
    assert result['failed'] is True
    assert 'data/toc.dat has SHA-256' in result['msg'] and 'no copy was removed' in result['msg']
    assert result['damaged'][0].startswith('data/toc.dat')
    assert sorted(os.listdir(tmp_path)) == before


def test_an_incomplete_copy_fails_and_removes_nothing(run_module, tmp_path):
    """A copy cut short: its manifest, copied last, is missing."""
    copies(tmp_path)
    partial = make_copy(tmp_path, 'postgres-app-20250604', '2025-06-04T00:00:00Z')
    (partial / 'manifest.json').unlink()
    before = sorted(os.listdir(tmp_path))
    result = prune(run_module, tmp_path, 'postgres-app-20250604', keep_last=1)
    assert result['failed'] is True and 'cannot read' in result['msg']
    assert sorted(os.listdir(tmp_path)) == before


def test_check_mode_verifies_and_removes_nothing(run_module, tmp_path):
    copies(tmp_path)
    before = sorted(os.listdir(tmp_path))
    result = prune(run_module, tmp_path, 'postgres-app-20250603', check_mode=True, keep_last=1)
    assert result['changed'] is True and result['files_verified'] == 2
    assert result['removed'] == ['postgres-app-20250602', 'postgres-app-20250601']
    assert 'would remove' in result['msg']
    assert sorted(os.listdir(tmp_path)) == before


def test_bad_options_are_refused(run_module, tmp_path):
    copies(tmp_path)
    before = sorted(os.listdir(tmp_path))
    assert 'keep_last must be 0 or more' in prune(run_module, tmp_path, 'postgres-app-20250603', keep_last=-1)['msg']
    assert 'not allowed' in prune(run_module, tmp_path, '../etc')['msg']
    assert 'absolute path' in run_module(db_backup_prune.main, dict(backup_dir='relative', backup='x'))['msg']
    assert sorted(os.listdir(tmp_path)) == before
