"""Make the bundle's modules and module_utils importable the way Ansible sees them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args

REPO = Path(__file__).resolve().parents[2]
MODULES = REPO / 'plugins' / 'modules'
VENV_BIN = Path(sys.executable).parent
# `from ansible_collections.bundle.stack.plugins.module_utils... import ...`: this clone
# is the collection bundle.stack through the .collections link (see ansible.cfg).
COLLECTIONS = REPO / '.collections'
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# `import health_probe` for the modules themselves.
if str(MODULES) not in sys.path:
    sys.path.insert(0, str(MODULES))


@pytest.fixture
def run_module(capsys):
    """Run a module's main() in-process with args; return its JSON result.

    Warnings and deprecations are process-wide in ansible-core: each run starts
    without those of the runs before it, as a module run by Ansible would."""
    def run(main, args, check_mode=False):
        warnings._global_warnings.clear()
        warnings._global_deprecations.clear()
        if check_mode:
            args = dict(args, _ansible_check_mode=True)
        with patch_module_args(args), pytest.raises(SystemExit):
            main()
        return json.loads(capsys.readouterr().out)
    return run


@pytest.fixture
def ansible_adhoc(tmp_path):
    """Run `ansible localhost -m <module> -a <args>`, the bundle's modules by FQCN through the clone's collection.

    Runs outside the repository so only the collection path matters, not whatever
    else ansible.cfg holds at the moment. Returns (rc, task result dict).
    """
    def run(module, args):
        env = dict(os.environ)
        env.pop('ANSIBLE_CONFIG', None)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
            ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
            ANSIBLE_STDOUT_CALLBACK='json',
            ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'),
            ANSIBLE_REMOTE_TMP=str(tmp_path / 'ansible-remote'),
        )
        completed = subprocess.run(
            [str(VENV_BIN / 'ansible'), 'localhost', '-m', module, '-a', args,
             '-e', f'ansible_python_interpreter={sys.executable}'],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
        try:
            output = json.loads(completed.stdout)
        except ValueError:
            pytest.fail(f'ansible printed no JSON (rc={completed.returncode}):\n'
                        f'{completed.stdout}\n{completed.stderr}')
        return completed.returncode, output['plays'][0]['tasks'][0]['hosts']['localhost']
    return run


@pytest.fixture
def ansible_doc():
    """Run ansible-doc on a module by FQCN (bundle.stack.<name>); return the completed process."""
    def run(module):
        return subprocess.run(
            [str(VENV_BIN / 'ansible-doc'), module],
            env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS)),
            capture_output=True, text=True, timeout=120, check=False)
    return run
