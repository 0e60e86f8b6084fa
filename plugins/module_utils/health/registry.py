# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every probe kind health_probe knows, by kind name: a new kind is one
health/kinds/<kind>.py plus one entry here."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.engine_word import DEPRECATED_ENGINE_NAMES
from ansible_collections.bundle.stack.plugins.module_utils.health.kinds import (
    http,
    mysql,
    pgbouncer,
    postgresql,
    redis,
    sentinel,
    tcp,
    worker,
)

PROBES = {kind.PROBE.kind: kind.PROBE for kind in (tcp, http, mysql, postgresql, pgbouncer, redis, sentinel, worker)}
# Old spellings of a kind, accepted with a deprecation (kind=postgres).
DEPRECATED_KINDS = {old: new for old, new in DEPRECATED_ENGINE_NAMES.items() if new in PROBES}
