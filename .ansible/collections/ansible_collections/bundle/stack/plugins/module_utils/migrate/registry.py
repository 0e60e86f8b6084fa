# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migration engines by name: the one place that imports them.

The engine word is `postgresql` or `mysql` (MariaDB included), as everywhere in the
bundle; `postgres`, the old spelling some operators type, still works and says so.
"""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.engine_word import DEPRECATED_ENGINE_NAMES, engine_word
from ansible_collections.bundle.stack.plugins.module_utils.migrate.mysql.engine import MysqlEngine
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.engine import PostgresqlEngine

ENGINES = {engine.name: engine for engine in (PostgresqlEngine, MysqlEngine)}
ENGINE_CHOICES = list(ENGINES) + list(DEPRECATED_ENGINE_NAMES)


def make_engine(module):
    """The engine object for the module's options, failing with an install hint when a library is missing."""
    engine = ENGINES[engine_word(module)]
    engine.require_libraries(module)
    params = dict(module.params, engine=engine.name)
    params['port'] = params['port'] or engine.default_port
    params['login_user'] = params['login_user'] or engine.default_user
    return engine(params)
