# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migration ledger's rows as the flows read and show them, and who and how long they record."""

from __future__ import annotations

import datetime
import getpass
import json
import os
import socket
import time

# The columns the flows read back (the SQL and the snapshot only when a rollback needs them).
LEDGER_COLUMNS = ('id, name, checksum, applied_at, applied_by, duration_ms, backup, rolled_back_at, '
                  'rolled_back_by, rollback_duration_ms, rollback_source, rollback_backup')


def ledger_row(row):
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime.datetime):
            value = value.isoformat(timespec='seconds')
        out[key] = value
    if isinstance(out.get('snapshot'), str):
        out['snapshot'] = json.loads(out['snapshot'])
    return out


def operator_name(params):
    """Who runs the module, as the ledger records it: applied_by, else user@host."""
    if params.get('applied_by'):
        return params['applied_by']
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f'{user}@{socket.gethostname()}'


def millis(start):
    return int((time.monotonic() - start) * 1000)


def history_table(history):
    """The ledger as lines of text, oldest first: what was applied and what was rolled back."""
    lines = []
    for row in history:
        line = (f"#{row['id']} {row['name']}: applied {row['applied_at']} by {row['applied_by']} "
                f"in {row['duration_ms']} ms")
        if row.get('rolled_back_at'):
            line += (f"; rolled back {row['rolled_back_at']} by {row['rolled_back_by']} with "
                     f"{row['rollback_source']} SQL in {row['rollback_duration_ms']} ms")
        lines.append(line)
    return lines
