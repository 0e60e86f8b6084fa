"""app_release on a real directory of releases: the link `current` switches in one rename,
the ledger records every switch, verdict and rollback, and nothing changes on a refusal,
in check mode, or when the release asked for is current already."""

import json
import os

import app_release
import pytest

SUM = {'1.0.0': 'a' * 64, '1.1.0': 'b' * 64, '1.2.0': 'c' * 64}


def install(root, version):
    """A release as roles/app installs it: release.json and a virtual environment."""
    directory = root / 'releases' / version
    (directory / 'venv' / 'bin').mkdir(parents=True)
    (directory / 'venv' / 'bin' / 'python').write_text('')
    (directory / 'release.json').write_text(json.dumps({'name': 'refapp', 'version': version}))


@pytest.fixture
def release(run_module, tmp_path):
    for version in SUM:
        install(tmp_path, version)

    def run(check_mode=False, diff=False, **args):
        args = dict(install_dir=str(tmp_path), **args)
        if diff:
            args['_ansible_diff'] = True
        return run_module(app_release.main, args, check_mode=check_mode)
    return run


def deploy(release, version, **args):
    return release(version=version, checksum=SUM[version], by='drill', **args)


def current(tmp_path):
    return os.readlink(tmp_path / 'current')


def test_a_first_deploy_links_current_and_records_it_then_a_second_changes_nothing(release, tmp_path):
    result = deploy(release, '1.0.0', migrations=['0001_initial'])
    assert result['changed'] and result['switched'] and result['current'] == '1.0.0' and result['previous'] is None
    assert current(tmp_path) == str(tmp_path / 'releases' / '1.0.0')
    record = json.loads((tmp_path / 'releases.json').read_text())['releases'][0]
    assert record['version'] == '1.0.0' and record['checksum'] == SUM['1.0.0'] and record['by'] == 'drill'
    assert record['migrations'] == ['0001_initial'] and record['gate']['verdict'] == 'pending'
    again = deploy(release, '1.0.0')
    assert again['changed'] is False and len(again['releases']) == 1


def test_a_judged_release_is_the_rollback_target_of_the_next(release, tmp_path):
    deploy(release, '1.0.0')
    judged = release(state='judged', verdict='passed', checks=[{'check': 'ready', 'passed': True}])
    assert judged['changed'] and judged['record']['gate']['checks'] == [{'check': 'ready', 'passed': True}]
    assert release(state='judged', verdict='passed')['changed'] is False
    switched = deploy(release, '1.1.0')
    assert switched['previous'] == '1.0.0' and switched['current'] == '1.1.0' and switched['last_passed'] == '1.0.0'
    release(state='judged', verdict='failed', reason='error rate 12.0 % > 5 %')
    back = release(state='rolled_back', reason='error rate 12.0 % > 5 %')
    assert back['changed'] and back['switched'] and back['current'] == '1.0.0'
    assert current(tmp_path).endswith('/releases/1.0.0')
    bad, rollback = back['releases'][-2:]
    assert bad['rolled_back']['to'] == '1.0.0' and bad['rolled_back']['reason'] == 'error rate 12.0 % > 5 %'
    assert rollback['action'] == 'rollback' and rollback['previous'] == '1.1.0'
    assert rollback['checksum'] == SUM['1.0.0'] and rollback['gate']['verdict'] == 'pending'
    assert release(state='rolled_back', reason='again')['changed'] is False
    assert back['table'][1].startswith('#2 ') and 'rolled back' in back['table'][1]


def test_a_rebuilt_artifact_under_a_known_version_is_refused(release, tmp_path):
    deploy(release, '1.0.0')
    refused = release(version='1.0.0', checksum='d' * 64)
    assert refused['failed'] and 'must carry a new version' in refused['msg'] and SUM['1.0.0'] in refused['msg']
    assert len(json.loads((tmp_path / 'releases.json').read_text())['releases']) == 1


def test_a_release_that_is_not_installed_or_a_bad_checksum_is_refused_before_the_switch(release, tmp_path):
    deploy(release, '1.0.0')
    missing = release(version='2.0.0', checksum='e' * 64)
    assert missing['failed'] and 'not installed' in missing['msg'] and 'install it first' in missing['msg']
    assert release(version='1.1.0', checksum='not-a-sum')['msg'].endswith("got 'not-a-sum'")
    os.unlink(tmp_path / 'releases' / '1.1.0' / 'venv' / 'bin' / 'python')
    unfinished = deploy(release, '1.1.0')
    assert unfinished['failed'] and 'did not finish' in unfinished['msg']
    assert current(tmp_path).endswith('/releases/1.0.0')


def test_a_rollback_target_that_never_passed_its_gate_is_refused(release, tmp_path):
    deploy(release, '1.0.0')
    nothing = release(state='rolled_back', reason='drill')
    assert nothing['failed'] and 'nothing to roll back to' in nothing['msg']
    release(state='judged', verdict='passed')
    deploy(release, '1.1.0')
    deploy(release, '1.2.0')
    refused = release(state='rolled_back', to='1.1.0', reason='drill')
    assert refused['failed'] and 'never passed its gate' in refused['msg'] and "['1.0.0']" in refused['msg']
    assert release(state='history')['passed'] == ['1.0.0']
    assert current(tmp_path).endswith('/releases/1.2.0')
    assert release(state='rolled_back')['msg'].startswith('Release rolled_back')


def test_check_mode_reports_the_switch_and_the_diff_and_changes_nothing(release, tmp_path):
    deploy(release, '1.0.0')
    release(state='judged', verdict='passed')
    ledger = (tmp_path / 'releases.json').read_text()
    dry = deploy(release, '1.1.0', check_mode=True, diff=True)
    assert dry['changed'] and dry['switched'] and dry['current'] == '1.1.0'
    assert dry['diff']['before'].startswith('current: 1.0.0\n') and dry['diff']['after'].startswith('current: 1.1.0\n')
    assert current(tmp_path).endswith('/releases/1.0.0') and (tmp_path / 'releases.json').read_text() == ledger
    deploy(release, '1.1.0')
    dry_back = release(state='rolled_back', reason='drill', check_mode=True)
    assert dry_back['changed'] and dry_back['current'] == '1.0.0'
    assert current(tmp_path).endswith('/releases/1.1.0')
    # The install of a new release ran in check mode too: its directory is not there yet.
    dry_new = release(version='3.0.0', checksum='f' * 64, check_mode=True)
    assert dry_new['changed'] and dry_new['current'] == '3.0.0' and not (tmp_path / 'releases' / '3.0.0').exists()


def test_a_ledger_that_is_not_json_is_left_alone_and_named(release, tmp_path):
    (tmp_path / 'releases.json').write_text('{half')
    result = release(state='history')
    assert result['failed'] and 'is not JSON' in result['msg'] and str(tmp_path / 'releases.json') in result['msg']
    assert (tmp_path / 'releases.json').read_text() == '{half'


def test_history_reads_without_changing(release, tmp_path):
    deploy(release, '1.0.0')
    history = release(state='history')
    assert history['changed'] is False and [r['version'] for r in history['releases']] == ['1.0.0']
    assert history['current'] == '1.0.0' and history['last_passed'] is None


def test_history_names_the_migrations_each_version_brought_not_those_of_a_rollback(release, tmp_path):
    deploy(release, '1.0.0', migrations=['0001_items'])
    release(state='judged', verdict='passed')
    deploy(release, '1.1.0', migrations=['0001_items', '0002_labels'])
    release(state='rolled_back', reason='error rate 12.0 % > 5 %')
    history = release(state='history')
    assert history['releases'][-1]['action'] == 'rollback' and history['releases'][-1]['migrations'] == []
    assert history['migrations'] == {'1.0.0': ['0001_items'], '1.1.0': ['0001_items', '0002_labels']}
