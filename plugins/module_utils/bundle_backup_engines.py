# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The backup engines db_backup and db_restore share: a new engine is one
bundle_backup_<engine>.py plus one entry here."""

from __future__ import annotations

from ansible.module_utils.bundle_backup_mysql import ENGINE as MYSQL_ENGINE
from ansible.module_utils.bundle_backup_postgres import ENGINE as POSTGRES_ENGINE
from ansible.module_utils.bundle_backup_redis import ENGINE as REDIS_ENGINE

ENGINES = {engine.name: engine for engine in (
    POSTGRES_ENGINE,
    MYSQL_ENGINE,
    REDIS_ENGINE,
)}
