"""What this installed release is: its version (the package metadata, the one place it is
kept), and the status page and schema migrations that travel inside its wheel."""

from importlib import metadata, resources

DISTRIBUTION = 'bundle-refapp'


def version():
    return metadata.version(DISTRIBUTION)


def frontend_dir():
    return resources.files('refapp') / 'frontend'


def migration_names():
    """Names of this release's migrations as schema_migrate records them in its ledger:
    the file name without .sql or .up.sql; a .down.sql file is another migration's down SQL."""
    names = set()
    for entry in (resources.files('refapp') / 'migrations' / 'postgresql').iterdir():
        name = entry.name
        if name.endswith('.sql') and not name.endswith('.down.sql'):
            names.add(name.removesuffix('.sql').removesuffix('.up'))
    return sorted(names)
