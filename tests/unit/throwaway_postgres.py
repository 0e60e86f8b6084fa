"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks.

The server binaries (initdb, pg_ctl) come from the machine (Debian's
postgresql-<major> puts them in /usr/lib/postgresql/<major>/bin). The data
directory is a temporary directory removed on stop; the server listens on a
free loopback port only, with password (SCRAM) authentication for TCP and
trust only on its private Unix socket. Running as root, the server runs as
the `postgres` user, which PostgreSQL requires.

    with ThrowawayPostgres() as pg:
        pg.create_role('app', 'secret')
        pg.create_database('app', owner='app')
        pg.connect('app').execute('SELECT 1')
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class Unavailable(Exception):
    """No PostgreSQL server binaries, or no user to run them as."""


def postgres_bindir():
    initdb = shutil.which('initdb') or next(iter(sorted(Path('/usr/lib/postgresql').glob('*/bin/initdb'),
                                                        reverse=True)), None)
    return Path(initdb).resolve().parent if initdb else None


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def server_user():
    """Uid and gid to run PostgreSQL as when running as root (it refuses root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam('postgres')
    except KeyError as exc:
        raise Unavailable('running as root and there is no postgres user to run PostgreSQL as') from exc
    return entry.pw_uid, entry.pw_gid


def run_as(user, cwd, *command, check=True, env=None):
    """Run a command in cwd, as user (uid, gid) when one is given."""
    kwargs = dict(user=user[0], group=user[1], extra_groups=[]) if user else {}
    return subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True,
                          check=check, timeout=120, env=env, **kwargs)


class ThrowawayPostgres:
    def __init__(self, superuser_password='throwaway-superuser'):
        self.bindir = postgres_bindir()
        if not self.bindir or not (self.bindir / 'pg_ctl').exists():
            raise Unavailable('PostgreSQL server binaries (initdb, pg_ctl) are not installed')
        self.user = server_user()
        self.password = superuser_password
        self.port = free_port()
        self.base = None
        self.started = False

    @property
    def major(self):
        return int(self.bindir.parent.name) if self.bindir.parent.name.isdigit() else None

    def run(self, *command, check=True, env=None):
        return run_as(self.user, self.base, *command, check=check, env=env)

    def start(self):
        self.base = Path(tempfile.mkdtemp(prefix='throwaway-pg-'))
        if self.user:
            os.chown(self.base, *self.user)
        sockets = self.base / 'sock'
        pwfile = self.base / 'pw'
        self.run('mkdir', '-m', '0700', sockets)
        pwfile.write_text(self.password + '\n')
        if self.user:
            os.chown(pwfile, *self.user)
        try:
            self.run(self.bindir / 'initdb', '-D', self.base / 'data', '-U', 'postgres', '--auth-local=trust',
                     '--auth-host=scram-sha-256', f'--pwfile={pwfile}', '--no-sync', '-E', 'UTF8',
                     '--locale=C.UTF-8')
            settings = (f'-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={sockets} '
                        '-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB '
                        '-c max_connections=30')
            self.run(self.bindir / 'pg_ctl', '-D', self.base / 'data', '-l', self.base / 'server.log', '-w',
                     '-o', settings, 'start')
        except subprocess.CalledProcessError as exc:
            log = (self.base / 'server.log').read_text() if (self.base / 'server.log').exists() else ''
            self.stop()
            raise Unavailable(f'could not start PostgreSQL: {exc.cmd}: {exc.stderr}\n{log}') from exc
        self.started = True
        self.sockets = str(sockets)
        return self

    def stop(self):
        if self.started:
            self.run(self.bindir / 'pg_ctl', '-D', self.base / 'data', '-m', 'immediate', 'stop', check=False)
            self.started = False
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- using it ---

    def connect(self, dbname='postgres', user='postgres', password=None, autocommit=True):
        import psycopg
        return psycopg.connect(host='127.0.0.1', port=self.port, user=user, dbname=dbname,
                               password=password if password is not None else self.password,
                               autocommit=autocommit)

    def sql(self, statement, dbname='postgres'):
        with self.connect(dbname) as connection:
            connection.execute(statement)

    def create_role(self, name, password, attributes='LOGIN'):
        with self.connect() as connection:
            connection.execute(f"CREATE ROLE {name} {attributes} PASSWORD '{password}'")

    def create_database(self, name, owner='postgres', template='template0'):
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE {name} OWNER {owner} TEMPLATE {template}')

    def drop_database(self, name):
        with self.connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')

    def pg_dump_schema(self, dbname, exclude_table=None):
        """pg_dump --schema-only as text: an independent view of the schema."""
        command = [self.bindir / 'pg_dump', '--schema-only', '-h', '127.0.0.1', '-p', self.port,
                   '-U', 'postgres', '-d', dbname]
        if exclude_table:
            command += ['--exclude-table', exclude_table]
        env = dict(os.environ, PGPASSWORD=self.password)
        dump = self.run(*command, env=env).stdout
        # pg_dump 15.14+ brackets its output with a random \\restrict key: not schema.
        return ''.join(line for line in dump.splitlines(keepends=True)
                       if not line.startswith(('\\restrict ', '\\unrestrict ')))
