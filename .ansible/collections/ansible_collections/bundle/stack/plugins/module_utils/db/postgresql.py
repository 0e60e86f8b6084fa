# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one PostgreSQL driver helper of the bundle: which driver, how to connect.

Debian's python3-psycopg2 is what target hosts carry, so psycopg2 is preferred;
psycopg 3 (the control node's venv) is the fallback. Every subsystem (probes,
backups, migrations) connects through `connect()`, so the preference, the
timeout rule and the PgBouncer-safe settings live here once.
"""

from __future__ import annotations

import math
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import psycopg2
except ImportError:
    psycopg2 = None
    IMPORT_ERROR = traceback.format_exc()
else:
    IMPORT_ERROR = None

try:
    import psycopg
except ImportError:
    psycopg = None

HAS_DRIVER = psycopg2 is not None or psycopg is not None
# What a failed connection or query raises, whichever driver is in use.
DRIVER_ERRORS = tuple(driver.Error for driver in (psycopg2, psycopg) if driver is not None)


def require_driver(module):
    """Fail the module with the install hint when neither driver is importable."""
    if not HAS_DRIVER:
        # psycopg2 is named as the library: it is what a host should get from Debian.
        module.fail_json(msg=missing_required_lib(
            'psycopg2', reason='to talk to PostgreSQL (Debian package python3-psycopg2; psycopg 3 works too)'),
            exception=IMPORT_ERROR)


def libpq_timeout(seconds):
    """libpq's connect_timeout: whole seconds, 0 means forever and anything below 2 is 2."""
    return max(2, int(math.ceil(seconds)))


def connect(conninfo, autocommit=True):
    """Open a connection from libpq keywords (None values are left out).

    psycopg 3 gets a client-side binding cursor and never prepares statements:
    PgBouncer in transaction mode and its admin console accept only that.
    """
    kwargs = {key: value for key, value in conninfo.items() if value is not None}
    if psycopg2 is not None:
        connection = psycopg2.connect(**kwargs)
        connection.autocommit = autocommit
        return connection
    return psycopg.connect(autocommit=autocommit, cursor_factory=psycopg.ClientCursor,
                           prepare_threshold=None, **kwargs)


def rows(connection, query, params=None):
    """Rows of a query as a list of dicts keyed by column name."""
    cursor = connection.cursor()
    try:
        cursor.execute(query, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()
