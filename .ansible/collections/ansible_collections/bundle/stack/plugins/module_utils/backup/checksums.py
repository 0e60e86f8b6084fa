# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SHA-256 of every file of a backup, in large chunks and on several threads,
and the check of a backup directory against its manifest."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os

from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import MANIFEST, MANIFEST_SUM

# hashlib releases the GIL on large buffers, so threads hash files in parallel.
CHUNK_BYTES = 8 * 1024 * 1024


def sha256_file(path, chunk=CHUNK_BYTES):
    digest = hashlib.sha256()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    with open(path, 'rb', buffering=0) as handle:
        while True:
            read = handle.readinto(buffer)
            if not read:
                break
            digest.update(view[:read])
    return digest.hexdigest()


def list_files(root):
    """Relative paths of every regular file under root except the manifest files, sorted."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in files:
            relative = os.path.relpath(os.path.join(directory, name), root)
            if relative not in (MANIFEST, MANIFEST_SUM):
                found.append(relative)
    return sorted(found)


def parallel_map(function, items, jobs):
    """function over items on up to `jobs` threads, results in order."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        return list(pool.map(function, items))


def checksum_tree(root, jobs=2):
    """{relative path: {'sha256': hex, 'size': bytes}} for every file under root.

    Big files first, so one large table does not start last."""
    paths = sorted(list_files(root), key=lambda rel: -os.path.getsize(os.path.join(root, rel)))

    def one(relative):
        path = os.path.join(root, relative)
        return relative, {'sha256': sha256_file(path), 'size': os.path.getsize(path)}

    return dict(sorted(parallel_map(one, paths, jobs)))


def verify_tree(root, files, jobs=2):
    """Problems of a backup directory against the manifest's files, as
    (relative path, reason) pairs; empty when every file is intact.

    Missing and unexpected files and size changes are found without reading
    any data; then every file is hashed."""
    problems = []
    present = set(list_files(root))
    expected = set(files)
    for relative in sorted(expected - present):
        problems.append((relative, 'is missing'))
    for relative in sorted(present - expected):
        problems.append((relative, 'is not listed in the manifest'))
    to_hash = []
    for relative in sorted(expected & present):
        size = os.path.getsize(os.path.join(root, relative))
        if size != files[relative]['size']:
            problems.append((relative, f"has {size} bytes, the manifest says {files[relative]['size']}"))
        else:
            to_hash.append(relative)
    to_hash.sort(key=lambda rel: -files[rel]['size'])

    def one(relative):
        return relative, sha256_file(os.path.join(root, relative))

    for relative, digest in parallel_map(one, to_hash, jobs):
        if digest != files[relative]['sha256']:
            problems.append((relative, f"has SHA-256 {digest[:16]}..., the manifest says "
                                       f"{files[relative]['sha256'][:16]}..."))
    return sorted(problems)


def describe_problems(path, problems, limit=5):
    shown = '; '.join(f'{relative} {reason}' for relative, reason in problems[:limit])
    more = f' (and {len(problems) - limit} more)' if len(problems) > limit else ''
    return f'backup {path} is damaged: {shown}{more}'
