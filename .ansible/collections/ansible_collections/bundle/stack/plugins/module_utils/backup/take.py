# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Taking a backup, the procedure db_backup runs and db_restore runs for its
safety backup: the engine's dump into a work directory, a checksum of every
file, the manifest, and the rename into place."""

from __future__ import annotations

import os
import socket
import time

from ansible_collections.bundle.stack.plugins.module_utils.backup.catalog import check_name, default_name
from ansible_collections.bundle.stack.plugins.module_utils.backup.checksums import checksum_tree
from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupError, Steps
from ansible_collections.bundle.stack.plugins.module_utils.backup.files import WorkDirectory
from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import MANIFEST_VERSION, isoformat, utc_now


def take_backup(module, engine, request):
    """Run the engine's backup of a BackupRequest into a work directory, checksum
    every file, write the manifest and rename the directory into place. Returns the manifest."""
    root, database, name, kind = request.root, request.database, request.name, request.kind
    started = utc_now()
    clock = time.monotonic()
    if name is None:
        # Two backups in the same second get -1, -2, ... rather than a failure.
        base = default_name(engine.name, database, started, kind)
        name, number = base, 0
        while os.path.lexists(os.path.join(root, name)):
            number += 1
            name = f'{base}-{number}'
    check_name(name)
    final = os.path.join(root, name)
    if os.path.lexists(final):
        raise BackupError(f'{final} already exists; a backup is never overwritten')
    steps = Steps()
    with WorkDirectory(root, name) as work:
        info = engine.backup(module, request.params, work.path)
        steps.mark('dump')
        files = checksum_tree(work.path, request.jobs)
        steps.mark('checksums')
        finished = utc_now()
        manifest = dict(
            manifest_version=MANIFEST_VERSION,
            name=name,
            kind=kind,
            engine=engine.name,
            database=database,
            host=socket.gethostname(),
            server_version=info['server_version'],
            tool_version=info['tool_version'],
            started_at=isoformat(started),
            finished_at=isoformat(finished),
            duration_seconds=round(time.monotonic() - clock, 3),
            size_bytes=sum(f['size'] for f in files.values()),
            files=files,
            row_counts=info['row_counts'],
            row_count_method=info.get('row_count_method', 'exact count(*) per table'),
            commands=info['commands'],
            details=info.get('details', {}),
            steps=steps.seconds,
        )
        work.commit(manifest)
    manifest['path'] = final
    return manifest
