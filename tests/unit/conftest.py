"""Make the bundle's modules and module_utils importable the way Ansible sees them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import ansible.module_utils
import pytest
from ansible.module_utils.testing import patch_module_args

REPO = Path(__file__).resolve().parents[2]
MODULE_UTILS = REPO / 'plugins' / 'module_utils'
MODULES = REPO / 'plugins' / 'modules'
DOC_FRAGMENTS = REPO / 'plugins' / 'doc_fragments'
VENV_BIN = Path(sys.executable).parent
# `from ansible_collections.bundle.stack.plugins.module_utils... import ...`: this clone
# is the collection bundle.stack through the .collections link (see ansible.cfg).
COLLECTIONS = REPO / '.collections'
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# `from ansible.module_utils.bundle_health import ...` resolves like it does
# with module_utils = plugins/module_utils in ansible.cfg.
if str(MODULE_UTILS) not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(MODULE_UTILS))
# `import health_probe` for the modules themselves.
if str(MODULES) not in sys.path:
    sys.path.insert(0, str(MODULES))


@pytest.fixture
def run_module(capsys):
    """Run a module's main() in-process with args; return its JSON result."""
    def run(main, args, check_mode=False):
        if check_mode:
            args = dict(args, _ansible_check_mode=True)
        with patch_module_args(args), pytest.raises(SystemExit):
            main()
        return json.loads(capsys.readouterr().out)
    return run


@pytest.fixture
def ansible_adhoc(tmp_path):
    """Run `ansible localhost -m <module> -a <args>` with the bundle's plugin paths.

    Runs outside the repository so only the plugin paths matter, not whatever
    else ansible.cfg holds at the moment. Returns (rc, task result dict).
    """
    def run(module, args):
        env = dict(os.environ)
        env.pop('ANSIBLE_CONFIG', None)
        env.update(
            ANSIBLE_LIBRARY=str(MODULES),
            ANSIBLE_MODULE_UTILS=str(MODULE_UTILS),
            # The modules import module_utils through the collection path.
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
    """Run ansible-doc on a module of plugins/modules; return the completed process."""
    def run(module):
        return subprocess.run(
            [str(VENV_BIN / 'ansible-doc'), '-M', str(MODULES), module],
            env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_DOC_FRAGMENT_PLUGINS=str(DOC_FRAGMENTS),
                     ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS)),
            capture_output=True, text=True, timeout=120, check=False)
    return run
