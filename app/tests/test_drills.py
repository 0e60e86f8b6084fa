"""Drill releases (app/build.py --drill KIND): real artifacts broken on purpose, each failing
the way the release drills need, while a normal build carries no fault."""

import ast
import json
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from refapp_testing import get

from tests.support.ports import free_port

DRILL_PY = Path(__file__).resolve().parents[1] / 'src' / 'refapp' / 'drill.py'


def test_build_knows_every_drill_the_application_carries(build):
    kinds = next(node.value for node in ast.parse(DRILL_PY.read_text()).body
                 if isinstance(node, ast.Assign) and node.targets[0].id == 'KINDS')
    assert build.DRILLS == ast.literal_eval(kinds)


def test_a_drill_release_says_so_in_release_json_and_an_unknown_drill_is_refused(build, drill_release, tmp_path):
    artifact, _ = drill_release('errors')
    with tarfile.open(artifact) as tar:
        assert json.load(tar.extractfile('refapp-9.9.9/release.json'))['drill'] == 'errors'
    with pytest.raises(build.BuildError, match="drill 'typo' is not one of crash"):
        build.build('9.9.8', tmp_path, 'typo')


def test_a_drill_migration_travels_in_the_artifact_and_in_the_wheel(build, tmp_path):
    artifact, _ = build.build('9.9.7', tmp_path, migration='reversible')
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
        release = json.load(tar.extractfile('refapp-9.9.7/release.json'))
        wheel = tar.extractfile(f"refapp-9.9.7/wheels/{release['wheel']}").read()
    assert 'refapp-9.9.7/migrations/postgresql/0003_drill_item_labels.sql' in names
    assert release['drill_migration'] == 'reversible'
    (tmp_path / 'app.whl').write_bytes(wheel)
    with zipfile.ZipFile(tmp_path / 'app.whl') as packed:
        assert 'refapp/migrations/postgresql/0003_drill_item_labels.sql' in packed.namelist()
    assert build.drill_migrations() == ['breaking', 'irreversible', 'reversible']
    with pytest.raises(build.BuildError, match="drill migration 'typo' is not one of breaking"):
        build.build('9.9.6', tmp_path, migration='typo')


@pytest.fixture
def drill_stack(make_stack, drill_release, shared_redis):
    return lambda kind: make_stack(shared_redis, bin_dir=drill_release(kind)[1])


def test_the_crash_drill_exits_at_start(drill_stack):
    stack = drill_stack('crash')
    done = subprocess.run([stack.bin_dir / 'refapp-backend'], env=stack.env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode != 0 and 'drill release: exits at start' in done.stderr


def test_the_wrong_port_drill_listens_one_port_off(drill_stack):
    stack, port = drill_stack('wrong-port'), free_port()
    process = subprocess.Popen([stack.bin_dir / 'refapp-backend'], env=dict(stack.env, REFAPP_BACKEND_PORT=str(port)))
    stack.processes.append(process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            assert get(f'http://127.0.0.1:{port + 1}/health', timeout=2)[0] == 200
            break
        except OSError:
            time.sleep(0.2)
    else:
        pytest.fail(f'nothing answered on {port + 1}')
    with pytest.raises(OSError):
        get(f'http://127.0.0.1:{port}/health', timeout=2)


def test_the_wrong_database_drill_is_alive_but_not_ready(drill_stack):
    url = drill_stack('wrong-database').backend()
    assert get(f'{url}/health')[0] == 200
    code, body = get(f'{url}/ready')
    assert code == 503 and 'database' in body['failing'], body


def test_the_errors_drill_fails_every_tenth_read_and_the_metrics_count_it(drill_stack):
    url = drill_stack('errors').backend()
    codes = [get(f'{url}/api/items')[0] for _ in range(30)]
    assert codes.count(500) == 3 and codes.count(200) == 27, codes
    assert all(get(f'{url}{path}')[0] == 200 for path in ('/health', '/ready', '/api/health/db'))
    metrics = get(f'{url}/metrics')[1]
    assert 'http_requests_total{method="GET",route="/api/items",status="500"} 3.0' in metrics


def test_the_slow_drill_delays_every_fifth_read(drill_stack):
    url = drill_stack('slow').backend()
    durations = []
    for _ in range(5):
        started = time.monotonic()
        assert get(f'{url}/api/items')[0] == 200
        durations.append(time.monotonic() - started)
    assert sum(1 for seconds in durations if seconds >= 3) == 1, durations
