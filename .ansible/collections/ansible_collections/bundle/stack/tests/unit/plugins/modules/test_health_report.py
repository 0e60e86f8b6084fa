"""health_report: table, counts and the JUnit XML file."""

import json
import xml.etree.ElementTree as ET

import health_report
import pytest

RESULTS = [
    dict(verdict='pass', kind='postgres', service='postgres', host='127.0.0.1', inventory_host='pg1',
         elapsed=0.05, probe_warnings=[], msg='127.0.0.1 postgres: passed after 1 attempt in 0.1 s'),
    dict(verdict='warn', kind='postgres', service='postgres', host='127.0.0.1', inventory_host='pg2',
         elapsed=1.5, probe_warnings=['lag 2.5 s above warning threshold 1 s'],
         msg='127.0.0.1 postgres: passed with warnings after 1 attempt in 1.5 s: '
             'lag 2.5 s above warning threshold 1 s'),
    dict(verdict='fail', kind='tcp', service='redis', host='10.0.0.7', elapsed=60.0, probe_warnings=[], failed=True,
         msg='10.0.0.7 redis (redis-server): expected port 6379 accepting TCP connections; saw connection refused '
             'after 30 attempts in 60.0 s. Unit redis-server: ActiveState=failed SubState=failed NRestarts=5. '
             'Last 2 log lines:\nline one\nline two'),
    # A task that failed before the module could judge anything (unreachable host).
    dict(unreachable=True, msg='Failed to connect to the host via ssh', inventory_host='mon1'),
    dict(skipped=True, skip_reason='Conditional result was False', inventory_host='mon2'),
]


def report(run_module, check_mode=False, **args):
    return run_module(health_report.main, args, check_mode=check_mode)


def test_table_and_counts(run_module):
    result = report(run_module, results=RESULTS)
    assert result['changed'] is False
    assert result['junit_path'] is None
    assert result['counts'] == {'pass': 1, 'warn': 1, 'fail': 2, 'skip': 1, 'total': 5}
    assert result['msg'] == 'smoke: 1 pass, 1 warn, 2 fail, 1 skip (5 total)'
    table = result['table']
    assert table[0].split() == ['HOST', 'SERVICE', 'KIND', 'VERDICT', 'ELAPSED', 'DETAIL']
    assert table[1] == ('pg1       postgres  postgres  PASS     0.05 s   '
                        '127.0.0.1 postgres: passed after 1 attempt in 0.1 s')
    assert table[2].endswith('WARN     1.50 s   lag 2.5 s above warning threshold 1 s')
    # Multi-line failure messages keep to one table line.
    assert table[3].startswith('10.0.0.7  redis     tcp       FAIL     60.00 s  10.0.0.7 redis (redis-server): ')
    assert table[3].endswith('Last 2 log lines:')
    assert table[4].startswith('mon1      -         -         FAIL     0.00 s   Failed to connect to the host via ssh')
    assert table[5].startswith('mon2      -         -         SKIP')
    # Fixed width: every column after the first starts at the same offset.
    detail_column = table[0].index('DETAIL')
    assert all(line[detail_column - 2:detail_column] == '  ' for line in table)


def parse_junit(path):
    return ET.parse(path).getroot()


def test_junit_xml(run_module, tmp_path):
    path = tmp_path / 'reports' / 'smoke.xml'
    result = report(run_module, results=RESULTS, junit_path=str(path), title='smoke')
    assert result['changed'] is True
    assert result['junit_path'] == str(path)
    suite = parse_junit(path)
    assert suite.tag == 'testsuite'
    assert (suite.get('name'), suite.get('tests'), suite.get('failures'), suite.get('skipped')) == (
        'smoke', '5', '2', '1')
    assert suite.get('timestamp') is None
    cases = suite.findall('testcase')
    assert [case.get('name') for case in cases] == [
        'pg1 postgres (postgres)', 'pg2 postgres (postgres)', '10.0.0.7 redis (tcp)', 'mon1 - (-)', 'mon2 - (-)']
    assert cases[2].get('classname') == 'smoke.10_0_0_7'
    failures = [case.find('failure') for case in cases]
    assert [failure is not None for failure in failures] == [False, False, True, True, False]
    assert failures[2].text.endswith('Last 2 log lines:\nline one\nline two')
    assert failures[2].get('message').startswith('10.0.0.7 redis (redis-server): expected port 6379')
    assert cases[1].find('system-out').text == 'WARNING: lag 2.5 s above warning threshold 1 s'
    assert cases[4].find('skipped') is not None


def test_check_mode_writes_nothing(run_module, tmp_path):
    path = tmp_path / 'smoke.xml'
    result = report(run_module, check_mode=True, results=RESULTS, junit_path=str(path))
    assert result['changed'] is True
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_identical_second_run_is_not_a_change(run_module, tmp_path):
    path = tmp_path / 'smoke.xml'
    assert report(run_module, results=RESULTS, junit_path=str(path))['changed'] is True
    first = path.read_bytes()
    assert report(run_module, results=RESULTS, junit_path=str(path))['changed'] is False
    assert report(run_module, check_mode=True, results=RESULTS, junit_path=str(path))['changed'] is False
    assert path.read_bytes() == first
    assert report(run_module, results=RESULTS[:2], junit_path=str(path))['changed'] is True
    assert parse_junit(path).get('tests') == '2'
    assert [entry.name for entry in tmp_path.iterdir()] == ['smoke.xml']


def test_fail_results_do_not_fail_the_report(run_module):
    result = report(run_module, results=[RESULTS[2]])
    assert not result.get('failed')
    assert result['counts']['fail'] == 1


@pytest.mark.parametrize('result, verdict, detail', [
    (dict(verdict='warn', warnings=['from a hand-made result']), 'warn', 'from a hand-made result'),
    (dict(failed=True), 'fail', 'no health_probe verdict in this result'),
    (dict(verdict='pass', host='db1', kind='tcp'), 'pass', 'pass'),
])
def test_report_row_tolerates_partial_results(result, verdict, detail):
    row = health_report.report_row(result)
    assert (row['verdict'], row['detail']) == (verdict, detail)


def test_runs_under_ansible(ansible_adhoc, tmp_path):
    path = tmp_path / 'smoke.xml'
    args = json.dumps({'results': RESULTS[:3], 'junit_path': str(path), 'title': 'lab'})
    rc, result = ansible_adhoc('bundle.stack.health_report', args)
    assert rc == 0, result
    assert result['changed'] is True
    assert result['counts'] == {'pass': 1, 'warn': 1, 'fail': 1, 'skip': 0, 'total': 3}
    assert parse_junit(path).get('name') == 'lab'
    rc, again = ansible_adhoc('bundle.stack.health_report', args)
    assert (rc, again['changed']) == (0, False)
