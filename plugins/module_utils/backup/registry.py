# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The backup engines db_backup and db_restore share, by name, and the options
they add to both modules: a new engine is one backup/engines/<engine>.py plus
one entry in ENGINES."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.backup.engines import mysql, postgresql, redis
from ansible_collections.bundle.stack.plugins.module_utils.engine_word import DEPRECATED_ENGINE_NAMES, engine_word

ENGINES = {engine.ENGINE.name: engine.ENGINE for engine in (postgresql, mysql, redis)}

# Connection options several engines use; each engine sets its own defaults.
CONNECTION_SPEC = dict(
    login_user=dict(type='str'),
    login_password=dict(type='str', no_log=True),
    login_host=dict(type='str'),
    login_unix_socket=dict(type='str'),
    port=dict(type='int'),
    bin_dir=dict(type='path'),
)


def module_argument_spec(common, side):
    """common options + connection options + every engine's options for `side`
    ('backup' or 'restore'), and engine with the registered engines (and their
    deprecated names) as choices."""
    spec = dict(common)
    spec.update(CONNECTION_SPEC)
    for engine in ENGINES.values():
        spec.update(getattr(engine, f'{side}_spec'))
    spec['engine'] = dict(type='str', required=True, choices=sorted([*ENGINES, *DEPRECATED_ENGINE_NAMES]))
    return spec


def engine_for(module):
    """The engine the module's engine option names; a deprecated name is accepted with a deprecation."""
    return ENGINES[engine_word(module)]


def engine_params(params, engine):
    """The module's params with the engine's defaults filled in where unset."""
    merged = dict(params, engine=engine.name)
    for key, value in engine.defaults.items():
        if merged.get(key) is None:
            merged[key] = value
    return merged


def unused_options(params, engine, common):
    """Options set by the caller that this engine does not use."""
    return sorted(name for name, value in params.items()
                  if value is not None and name not in common and name != 'engine' and name not in engine.options)
