"""The throwaway PostgreSQL server on 127.0.0.1 of the tests and benchmarks.

The server binaries (initdb, pg_ctl, psql, pg_dump) come from the directory named by
BUNDLE_TEST_POSTGRES_BINDIR, else from this machine (PATH, Debian's
/usr/lib/postgresql/<major>/bin), else from Debian's postgresql-<major> and
postgresql-client-<major> (the major the `postgresql` package picks), unpacked under
.cache/ the first time with the libraries this machine lacks (debian_packages). The data
directory is a temporary directory removed on stop; the server listens on a free
loopback port only, with password (SCRAM) authentication for TCP and trust only on its
private Unix socket. PostgreSQL refuses to run as root: as root, the server runs as the
`postgres` user, or as `nobody` where PostgreSQL was never installed.

    with ThrowawayPostgres() as pg:
        pg.create_role('app', 'secret')
        pg.create_database('app', owner='app')
        pg.connect('app').execute('SELECT 1')
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.support.debian_packages import depends, library_env, unpacked
from tests.support.ports import free_port

# What runs PostgreSQL when the tests run as root: Debian's own user, else one every system has.
SERVER_USERS = ('postgres', 'nobody')


class Unavailable(Exception):
    """PostgreSQL could not be started here."""


def installed_bindir():
    """The machine's PostgreSQL server binaries (the newest major), or None."""
    initdb = shutil.which('initdb') or next(iter(sorted(Path('/usr/lib/postgresql').glob('*/bin/initdb'),
                                                        reverse=True)), None)
    return Path(initdb).resolve().parent if initdb else None


def debian_bindir():
    """Debian's PostgreSQL server and client binaries, unpacked under .cache/ the first time."""
    major = next(name.removeprefix('postgresql-') for name in depends('postgresql')
                 if name.removeprefix('postgresql-').isdigit())
    root = unpacked('postgresql', [f'postgresql-{major}', f'postgresql-client-{major}'], dependencies=True)
    return root / 'usr' / 'lib' / 'postgresql' / major / 'bin'


def installation():
    """(bin directory, environment to run its programs with: None for the machine's own)."""
    chosen = os.environ.get('BUNDLE_TEST_POSTGRES_BINDIR')
    bindir = Path(chosen) if chosen else installed_bindir() or debian_bindir()
    return bindir, environment(bindir)


def environment(bindir):
    """For Debian's layout unpacked in a tree (<root>/usr/lib/postgresql/<major>/bin), the
    tree's libraries on LD_LIBRARY_PATH; None for binaries installed on the machine."""
    root = bindir.parents[4] if bindir.parts[-5:-2] == ('usr', 'lib', 'postgresql') else Path('/')
    return None if root == Path('/') else library_env(root)


def server_user():
    """Uid and gid to run PostgreSQL as when running as root (it refuses root), else None."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise Unavailable(f"running as root and there is no user ({', '.join(SERVER_USERS)}) to run PostgreSQL as")


def run_as(user, cwd, *command, check=True, env=None):
    """Run a command in cwd, as user (uid, gid) when one is given."""
    kwargs = dict(user=user[0], group=user[1], extra_groups=[]) if user else {}
    return subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True,
                          check=check, timeout=120, env=env, **kwargs)


class ThrowawayPostgres:
    def __init__(self, superuser_password='throwaway-superuser', bindir=None):
        self.bindir, self.env = (bindir, environment(bindir)) if bindir else installation()
        if not (self.bindir / 'pg_ctl').exists():
            raise Unavailable(f'no PostgreSQL server binaries (initdb, pg_ctl) in {self.bindir}')
        self.user = server_user()
        self.password = superuser_password
        self.port = free_port()
        self.base = None
        self.started = False
        self.frozen = []  # the processes freeze() stopped

    @property
    def major(self):
        return int(self.bindir.parent.name) if self.bindir.parent.name.isdigit() else None

    def run(self, *command, check=True, env=None):
        return run_as(self.user, self.base, *command, check=check, env=env or self.env)

    def start(self, primary=None):
        """Start a new server; with primary (a started ThrowawayPostgres), its streaming replica
        (pg_basebackup -R of the primary, over TCP as its superuser)."""
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
            if primary:
                self.run(self.bindir / 'pg_basebackup', '-h', '127.0.0.1', '-p', primary.port, '-U', 'postgres',
                         '-D', self.base / 'data', '-R', '--no-sync', '--checkpoint=fast',
                         env=dict(self.env or os.environ, PGPASSWORD=primary.password))
            else:
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

    def standby(self):
        """A streaming replica of this server, started (same superuser password); stop() it as any other."""
        return ThrowawayPostgres(self.password, bindir=self.bindir).start(primary=self)

    def freeze(self):
        """Stop every process of the server (SIGSTOP), as on a paused host: connections stay
        open and nothing answers. thaw() resumes them."""
        postmaster = int((self.base / 'data' / 'postmaster.pid').read_text().split()[0])
        children = subprocess.run(['pgrep', '-P', str(postmaster)], capture_output=True, text=True).stdout.split()
        self.frozen = [postmaster, *map(int, children)]
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        for pid in self.frozen:
            os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def stop(self):
        self.thaw()
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
        env = dict(self.env or os.environ, PGPASSWORD=self.password)
        dump = self.run(*command, env=env).stdout
        # pg_dump 15.14+ brackets its output with a random \\restrict key: not schema.
        return ''.join(line for line in dump.splitlines(keepends=True)
                       if not line.startswith(('\\restrict ', '\\unrestrict ')))

    def psql(self, sql, database='postgres'):
        """Run sql with psql as the superuser over the private socket; its unaligned rows."""
        completed = subprocess.run(
            [str(self.bindir / 'psql'), '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', self.sockets,
             '-p', str(self.port), '-U', 'postgres', '-d', database, '-c', sql],
            capture_output=True, text=True, timeout=120, check=False, env=self.env)
        assert completed.returncode == 0, completed.stderr
        return completed.stdout.strip()

    def databases(self):
        return set(self.psql('SELECT datname FROM pg_database').split())

    @contextlib.contextmanager
    def client_libraries(self):
        """Meanwhile, this process's environment finds an unpacked tree's libraries: for a
        module run in-process that starts pg_dump or pg_restore of bin_dir itself."""
        if not self.env:
            yield
            return
        saved = os.environ.get('LD_LIBRARY_PATH')
        os.environ['LD_LIBRARY_PATH'] = self.env['LD_LIBRARY_PATH']
        try:
            yield
        finally:
            if saved is None:
                del os.environ['LD_LIBRARY_PATH']
            else:
                os.environ['LD_LIBRARY_PATH'] = saved

    def options(self):
        """Connection options of db_backup and db_restore for this server, over its socket."""
        return dict(engine='postgresql', login_unix_socket=self.sockets, port=self.port, bin_dir=str(self.bindir))
