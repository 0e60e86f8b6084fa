# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one MySQL/MariaDB driver helper of the bundle: PyMySQL, imported once.

Debian's python3-pymysql on the target hosts; PyMySQL from the venv on the control node.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import pymysql
    import pymysql.cursors
except ImportError:
    pymysql = None
    IMPORT_ERROR = traceback.format_exc()
else:
    IMPORT_ERROR = None

HAS_DRIVER = pymysql is not None
DRIVER_ERRORS = (pymysql.MySQLError,) if pymysql is not None else ()


def require_driver(module):
    """Fail the module with the install hint when PyMySQL is not importable."""
    if not HAS_DRIVER:
        module.fail_json(msg=missing_required_lib('PyMySQL (Debian package python3-pymysql)'),
                         exception=IMPORT_ERROR)


def connect(dict_rows=False, **kwargs):
    """Open a PyMySQL connection; None values are left out, dict_rows gives dict cursors."""
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    if dict_rows:
        kwargs['cursorclass'] = pymysql.cursors.DictCursor
    return pymysql.connect(**kwargs)
