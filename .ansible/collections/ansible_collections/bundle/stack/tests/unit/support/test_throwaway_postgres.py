"""The throwaway PostgreSQL of the tests where the machine has none: Debian's server and
client packages, unpacked under .cache/ (tests/support/throwaway_postgres.py). Run on
every machine, so the fallback is known to work before a machine without PostgreSQL
needs it."""

from pathlib import Path

from tests.support.debian_packages import CACHE
from tests.support.throwaway_postgres import ThrowawayPostgres, debian_bindir, environment


def test_debian_s_postgresql_unpacked_under_the_cache_serves_sql():
    bindir = debian_bindir()
    assert bindir.is_relative_to(CACHE)
    with ThrowawayPostgres(bindir=bindir) as pg:
        assert pg.psql('SELECT 1 + 1') == '2'
        assert pg.psql('SHOW server_version').split('.')[0] == bindir.parent.name
        pg.create_role('app', 'app-pw')
        with pg.connect(user='app', password='app-pw') as connection:
            assert connection.execute('SELECT current_user').fetchone() == ('app',)
        pg.sql('CREATE TABLE t (id int)')
        assert 'CREATE TABLE public.t' in pg.pg_dump_schema('postgres')


def test_only_an_unpacked_tree_puts_its_libraries_first(tmp_path):
    assert environment(Path('/usr/lib/postgresql/15/bin')) is None
    assert environment(Path('/opt/postgresql/bin')) is None
    (tmp_path / 'usr' / 'lib' / 'x86_64-linux-gnu').mkdir(parents=True)
    env = environment(tmp_path / 'usr' / 'lib' / 'postgresql' / '15' / 'bin')
    assert env['LD_LIBRARY_PATH'].split(':')[0] == str(tmp_path / 'usr' / 'lib' / 'x86_64-linux-gnu')
