"""A throwaway MariaDB server on 127.0.0.1 for tests.

The server binaries (mariadbd, mariadb-install-db) come from the tree named by
BUNDLE_TEST_MARIADB_ROOT (the directory holding usr/), else from this machine (PATH,
/usr/sbin), else from Debian's mariadb-server-core and mariadb-client-core, unpacked
under .cache/ the first time with the libraries this machine lacks
(debian_packages, whose Unavailable says when that is impossible). A tree's
own libraries (usr/lib/<triplet>, lib/<triplet>) go on LD_LIBRARY_PATH. The data directory is a
temporary directory removed on stop; the server listens on a free loopback port and
on its own socket, where root needs no password.

    with ThrowawayMariadb() as server:
        server.sql('CREATE DATABASE app')
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql
import pytest

from tests.support.debian_packages import library_env, unpacked
from tests.support.ports import free_port


def installation():
    """(root, mariadbd, mariadb-install-db), where root holds usr/share/mysql."""
    root = os.environ.get('BUNDLE_TEST_MARIADB_ROOT')
    server, install = shutil.which('mariadbd'), shutil.which('mariadb-install-db')
    if root:
        root = Path(root)
    elif server and install:
        return Path('/'), Path(server), Path(install)
    elif Path('/usr/sbin/mariadbd').exists():
        root = Path('/')
    else:
        root = unpacked('mariadb', ['mariadb-server-core', 'mariadb-client-core'], dependencies=True)
    return root, root / 'usr' / 'sbin' / 'mariadbd', root / 'usr' / 'bin' / 'mariadb-install-db'


class ThrowawayMariadb:
    def __init__(self):
        self.root, self.binary, self.install = installation()
        self.env = dict(os.environ) if self.root == Path('/') else library_env(self.root)
        self.port = free_port()
        self.base = None
        self.socket = None
        self.process = None

    def start(self, *options):
        """Create a data directory and start mariadbd with these extra options."""
        self.base = Path(tempfile.mkdtemp(prefix='throwaway-mariadb-'))
        self.socket = str(self.base / 'mysqld.sock')
        usr, data, log = self.root / 'usr', self.base / 'data', self.base / 'error.log'
        created = subprocess.run(
            [str(self.install), '--no-defaults', f'--basedir={usr}', f'--datadir={data}',
             '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root', '--skip-name-resolve'],
            capture_output=True, text=True, timeout=120, env=self.env, check=False)
        if created.returncode != 0:
            self.stop()
            pytest.fail(f'mariadb-install-db failed:\n{created.stdout[-2000:]}\n{created.stderr[-2000:]}')
        self.process = subprocess.Popen(
            [str(self.binary), '--no-defaults', f'--basedir={usr}', f'--lc-messages-dir={usr / "share" / "mysql"}',
             f'--datadir={data}', f'--socket={self.socket}', f'--port={self.port}', '--bind-address=127.0.0.1',
             '--user=root', '--skip-name-resolve', '--innodb-buffer-pool-size=16M',
             f'--pid-file={self.base / "mysqld.pid"}', f'--log-error={log}', *options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + 60
        while not Path(self.socket).exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                text = log.read_text() if log.exists() else ''
                self.stop()
                pytest.fail(f'mariadbd did not start:\n{text[-3000:]}')
            time.sleep(0.1)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def sql(self, *queries):
        """Run the queries as root over the socket; the last one's rows, as dicts."""
        connection = pymysql.connect(unix_socket=self.socket, user='root', autocommit=True,
                                     cursorclass=pymysql.cursors.DictCursor)
        try:
            with connection.cursor() as cursor:
                for query in queries:
                    cursor.execute(query)
                return cursor.fetchall()
        finally:
            connection.close()
