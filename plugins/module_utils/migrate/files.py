# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Migration files: a directory of *.sql applied in name order.

One file holds the up SQL, optionally followed by a down section after a line
`-- migrate:down` (dbmate style, `-- migrate:up` may open the file), or the down
SQL sits in a sibling `<name>.down.sql` (with `<name>.sql` or `<name>.up.sql`,
golang-migrate style). `-- migrate:up transaction:false` marks a migration that
must run outside a transaction (CREATE INDEX CONCURRENTLY); `breaking:true` on that line
marks one the release before it cannot run on (a contract step: a column or table the old
code uses is dropped or renamed), which a rolling deploy refuses unless told. The checksum of a
migration is the SHA-256 of its up SQL: the SQL that was applied must not change
afterwards; the down section may be fixed later.
"""

from __future__ import annotations

import hashlib
import os

from ansible_collections.bundle.stack.plugins.module_utils.migrate.errors import MigrationError

UP_MARK = '-- migrate:up'
DOWN_MARK = '-- migrate:down'


class Migration:
    def __init__(self, name, up, down, up_file, down_file, transaction=True, breaking=False):
        self.name = name
        self.up = up
        self.down = down
        self.up_file = up_file
        self.down_file = down_file
        self.transaction = transaction
        self.breaking = breaking
        self.checksum = checksum(up)


def checksum(up_sql):
    return hashlib.sha256(up_sql.strip().encode('utf-8')).hexdigest()


def natural_key(name):
    """'10_x' after '9_x': runs of digits compare as numbers."""
    key, digits, text = [], '', ''
    for char in name:
        if char.isdigit():
            if text:
                key.append((1, text, 0))
                text = ''
            digits += char
        else:
            if digits:
                key.append((0, '', int(digits)))
                digits = ''
            text += char
    if digits:
        key.append((0, '', int(digits)))
    if text:
        key.append((1, text, 0))
    return key


def sorted_dirs(parent):
    """Subdirectories of parent, highest version number first."""
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    return [os.path.join(parent, n) for n in sorted(names, key=natural_key, reverse=True)
            if os.path.isdir(os.path.join(parent, n))]


def marker(line):
    """(mark, options) when a line is a -- migrate:up/down marker, else None."""
    stripped = line.strip()
    for mark in (UP_MARK, DOWN_MARK):
        if stripped.lower() == mark or stripped.lower().startswith(mark + ' '):
            options = dict(word.split(':', 1) for word in stripped[len(mark):].split() if ':' in word)
            return mark, options
    return None


def split_sections(text, path):
    """(up, down or None, options of the up marker) of one migration file."""
    up, down, options = [], None, {}
    current = up
    for line in text.splitlines(keepends=True):
        found = marker(line)
        if found is None:
            current.append(line)
            continue
        mark, opts = found
        if mark == UP_MARK:
            if down is not None or any(part.strip() for part in up):
                raise MigrationError(f'{path}: "{UP_MARK}" must come first, before any SQL and the down section.')
            options = opts
        else:
            if down is not None:
                raise MigrationError(f'{path}: "{DOWN_MARK}" appears twice.')
            down = []
            current = down
    down_text = ''.join(down) if down is not None else None
    if down_text is not None and not sql_content(down_text):
        down_text = None  # an empty down section means: generate it
    return ''.join(up), down_text, options


def sql_content(text):
    """Whether text holds anything but blank lines and -- comments."""
    return any(line.strip() and not line.strip().startswith('--') for line in text.splitlines())


def read_text(path):
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f'Cannot read migration file {path}: {exc}') from exc


def load_migrations(directory):
    """The migrations of a directory, in name order."""
    if not os.path.isdir(directory):
        raise MigrationError(f'path={directory} is not a directory of migration files.')
    ups, downs = {}, {}
    for entry in sorted(os.listdir(directory)):
        full = os.path.join(directory, entry)
        if not entry.endswith('.sql') or not os.path.isfile(full):
            continue
        stem = entry[:-4]
        if stem.endswith('.down'):
            downs[stem[:-5]] = full
            continue
        name = stem[:-3] if stem.endswith('.up') else stem
        if name in ups:
            raise MigrationError(f'Two files define migration {name}: {os.path.basename(ups[name])} and {entry}.')
        ups[name] = full
    orphans = sorted(set(downs) - set(ups))
    if orphans:
        raise MigrationError(f"Down file(s) without an up file in {directory}: "
                             f"{', '.join(os.path.basename(downs[n]) for n in orphans)}.")
    migrations = []
    for name in sorted(ups, key=natural_key):
        up, down, options = split_sections(read_text(ups[name]), ups[name])
        down_file = downs.get(name)
        if down_file:
            if down is not None:
                raise MigrationError(f'Migration {name} has both a "{DOWN_MARK}" section and '
                                     f'{os.path.basename(down_file)}; keep one.')
            down = read_text(down_file)
            if not sql_content(down):
                down = None
        if not sql_content(up):
            raise MigrationError(f'Migration {name} ({ups[name]}) has no up SQL.')
        transaction = flag(options, 'transaction', True, ups[name])
        breaking = flag(options, 'breaking', False, ups[name])
        migrations.append(Migration(name, up, down, ups[name], down_file, transaction, breaking))
    return migrations


def flag(options, key, default, path):
    """A true/false option of the up marker (`-- migrate:up key:value`)."""
    value = options.get(key)
    if value is None:
        return default
    if value.lower() in ('true', 'yes', '1'):
        return True
    if value.lower() in ('false', 'no', '0'):
        return False
    raise MigrationError(f'{path}: "{UP_MARK} {key}:{value}": {key} is true or false.')
