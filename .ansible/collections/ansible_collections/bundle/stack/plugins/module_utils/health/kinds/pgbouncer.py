# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""pgbouncer kind of health_probe: the admin console answers, the expected
database is configured, and optionally a query goes through the pooler."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.db import postgresql as db
from ansible_collections.bundle.stack.plugins.module_utils.health.kinds.postgresql import probe_connect
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import (
    Probe,
    ProbeError,
    describe_error,
    shared_options,
)

ARGUMENT_SPEC = dict(
    admin_user=dict(type='str', default='pgbouncer'),
    admin_password=dict(type='str', no_log=True),
    expect_database=dict(type='str'),
    **shared_options('login_user', 'login_password', 'database'),
)

POOL_COUNTERS = ('cl_active', 'cl_waiting', 'sv_active', 'sv_idle')


def pooled_database(params):
    # Like libpq, fall back to the user name when no database is given.
    return params.get('database') or params.get('expect_database') or params.get('login_user')


def select_through_pooler(params, attempt_timeout):
    """'ok', or what went wrong running SELECT 1 through pgbouncer."""
    conninfo = dict(host=params['host'], port=params['port'], user=params['login_user'],
                    password=params['login_password'], dbname=pooled_database(params))
    try:
        connection = probe_connect(conninfo, attempt_timeout)
        try:
            db.rows(connection, 'SELECT 1')
        finally:
            connection.close()
    except db.DRIVER_ERRORS as exc:
        return describe_error(exc)
    return 'ok'


def summarize_console(databases, pools, expect_database=None):
    """Observed dict from SHOW DATABASES and SHOW POOLS rows."""
    listed = {row['name']: dict(host=row['host'], port=int(row['port']), database=row['database'])
              for row in databases}
    totals = {counter: sum(int(pool[counter]) for pool in pools) for counter in POOL_COUNTERS}
    totals['pools'] = len(pools)
    waiting = [dict(database=pool['database'], user=pool['user'], cl_waiting=int(pool['cl_waiting']))
               for pool in pools if int(pool['cl_waiting']) > 0]
    observed = dict(databases=listed, pools=totals, waiting_pools=waiting)
    if expect_database:
        observed['expected_database'] = listed.get(expect_database)
    return observed


class PgbouncerProbe(Probe):
    kind = 'pgbouncer'
    argument_spec = ARGUMENT_SPEC
    defaults = dict(port=6432)

    def preflight(self, module, params):
        db.require_driver(module)

    def check(self, params, attempt_timeout):
        admin = dict(host=params['host'], port=params['port'], user=params['admin_user'],
                     password=params['admin_password'], dbname='pgbouncer')
        try:
            connection = probe_connect(admin, attempt_timeout)
            try:
                databases = db.rows(connection, 'SHOW DATABASES')
                pools = db.rows(connection, 'SHOW POOLS')
            finally:
                connection.close()
        except db.DRIVER_ERRORS as exc:
            raise ProbeError(f'admin console: {describe_error(exc)}') from exc
        observed = summarize_console(databases, pools, params.get('expect_database'))
        if params.get('login_user'):
            observed['pooled_select'] = select_through_pooler(params, attempt_timeout)
        return observed

    def evaluate(self, observed, params):
        problems, warnings = [], []
        expect_database = params.get('expect_database')
        if expect_database and expect_database not in observed['databases']:
            listed = ', '.join(sorted(observed['databases'])) or 'none'
            problems.append(f'database {expect_database} not in SHOW DATABASES (listed: {listed})')
        pooled_select = observed.get('pooled_select')
        if pooled_select not in (None, 'ok'):
            problems.append(f"SELECT 1 through the pooler as {params['login_user']} on {pooled_database(params)} "
                            f"failed: {pooled_select}")
        for pool in observed['waiting_pools']:
            warnings.append(f"{pool['cl_waiting']} clients waiting in pool {pool['database']}/{pool['user']}")
        return problems, warnings

    def expectations(self, params):
        expected = {'admin_console': 'answering'}
        phrases = ['admin console answering SHOW DATABASES and SHOW POOLS']
        if params.get('expect_database'):
            expected['database_listed'] = params['expect_database']
            phrases.append(f"database {params['expect_database']} listed")
        if params.get('login_user'):
            expected['pooled_select'] = dict(user=params['login_user'], database=pooled_database(params))
            phrases.append(f"SELECT 1 through the pooler as {params['login_user']} on {pooled_database(params)}")
        return expected, phrases

    def describe(self, observed):
        pools = observed['pools']
        return (f"{len(observed['databases'])} databases, clients active {pools['cl_active']} waiting "
                f"{pools['cl_waiting']}, servers active {pools['sv_active']} idle {pools['sv_idle']}")


PROBE = PgbouncerProbe()
