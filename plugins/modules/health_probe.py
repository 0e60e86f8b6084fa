#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Ansible modules keep their documentation ahead of the imports.

DOCUMENTATION = r'''
---
module: health_probe
short_description: Wait until a service is healthy and report what was seen
description:
  - Probes one service (a TCP port, PostgreSQL, PgBouncer, MariaDB or MySQL, Redis,
    Sentinel, an HTTP endpoint or a worker's health server)
    and retries until the probe passes or O(timeout) seconds have passed.
  - The verdict is V(pass), V(warn) (healthy, but something deserves a look,
    for example replication lag above O(warn_lag_seconds)) or V(fail).
    Only V(fail) fails the task.
  - When the verdict is V(fail) and O(unit) is set, the state of the systemd
    unit and its last journal lines are added to the result and to the message,
    so a failed health gate says which service is down and why.
  - Every health wait of the bundle uses this module.
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  kind:
    description:
      - What to probe.
      - V(tcp) connects to O(host):O(port).
      - V(postgresql) connects, runs C(SELECT 1), and checks the role and,
        on a replica, the WAL receiver and the replication lag. V(postgres), its
        old spelling, is still accepted, with a deprecation.
      - V(pgbouncer) runs C(SHOW DATABASES) and C(SHOW POOLS) on the admin
        console and optionally C(SELECT 1) through the pooler.
      - V(http) requests O(url) and checks the status and optionally fields of the
        JSON body (O(expect_json)). On an unexpected status the message names the
        failing parts the body lists in O(failing_field).
      - V(mysql) connects to MariaDB or MySQL, runs C(SELECT 1), and checks the role
        (a replica is a server with a row in C(SHOW REPLICA STATUS)), C(read_only)
        and, on a replica, that the IO and SQL threads run and the seconds behind the primary.
      - V(redis) authenticates (ACL user), runs C(PING) and C(INFO), and checks the
        replication role (Redis's C(master) is reported as V(primary)), on a replica
        the master link and the replication offset lag, on a master the replicas online.
      - V(sentinel) authenticates, checks that the Sentinel monitors O(master_name),
        sees it up with no failover in progress, that C(SENTINEL CKQUORUM) passes,
        and counts the Sentinels and the replicas it sees up.
      - V(worker) requests C(http://<host>:<port>/health) of a worker's own health
        server and checks that every worker type it reports, or each of
        O(worker_types), has C(status) V(ok); the message names an unhealthy type
        and the C(reason) (and C(lastError)) it gave.
    type: str
    required: true
    choices: [http, mysql, pgbouncer, postgres, postgresql, redis, sentinel, tcp, worker]
  service:
    description:
      - Human name of the service, used in messages. Defaults to O(kind).
    type: str
  host:
    description:
      - Host to probe. Also names the target in messages.
      - Not used by O(kind=http), which takes the host from O(url).
    type: str
    default: 127.0.0.1
  port:
    description:
      - Port to probe.
      - Required for O(kind=tcp). Defaults to V(5432) for O(kind=postgresql)
        and V(6432) for O(kind=pgbouncer).
      - Defaults to V(3306) for O(kind=mysql).
      - Defaults to V(6379) for O(kind=redis) and V(26379) for O(kind=sentinel).
      - Defaults to V(9000) for O(kind=worker).
    type: int
  timeout:
    description:
      - Deadline in seconds. The probe retries until it passes or the deadline passes.
      - A single attempt waits at most 5 seconds (less when the deadline is closer).
      - V(0) makes exactly one attempt.
    type: float
    default: 60
  interval:
    description:
      - Seconds to wait between attempts.
    type: float
    default: 2
  unit:
    description:
      - Systemd unit of the service, for example V(postgresql@15-main).
      - On a V(fail) verdict the module runs
        C(systemctl show -p ActiveState -p SubState -p NRestarts <unit>) and
        C(journalctl -u <unit> --no-pager -n <log_lines>) and reports both.
      - Reading the journal usually needs privileges; use become.
    type: str
  log_lines:
    description:
      - How many journal lines of O(unit) to report on failure.
    type: int
    default: 20
  fail_on_restart:
    description:
      - Stop waiting as soon as O(unit) has failed or restarted since the probe began (its
        C(NRestarts) grew), since a crash loop does not heal within the deadline. For a service that
        was just started on purpose (a deploy); not for one that may restart once while its
        dependencies come up.
    type: bool
    default: false
  login_user:
    description:
      - O(kind=postgresql) user to connect as. Defaults to V(postgres).
        Checking replication state needs superuser or membership of C(pg_monitor);
        without it the WAL receiver status and streaming replicas read as unknown.
      - O(kind=pgbouncer) user for an additional C(SELECT 1) through the pooler.
        Without it only the admin console is checked.
      - O(kind=mysql) user to connect as. Defaults to V(root), which on Debian's
        MariaDB logs in through O(login_unix_socket) by C(unix_socket) authentication
        as the system user root, with no password. Another user needs the C(PROCESS)
        privilege to count connected replicas and C(REPLICA MONITOR) (MariaDB) or
        C(REPLICATION CLIENT) (MySQL) to read the replica status.
      - O(kind=redis) and O(kind=sentinel) ACL user for C(AUTH). Without O(login_password)
        no C(AUTH) is sent; without O(login_user) C(AUTH) is for the default user.
        A Redis user needs C(+ping +info); a Sentinel user C(+ping) and the C(SENTINEL)
        subcommands C(master), C(ckquorum) and C(replicas).
    type: str
  login_password:
    description:
      - Password of O(login_user).
    type: str
  login_unix_socket:
    description:
      - O(kind=postgresql) only. Directory of the server's Unix socket, for
        example V(/var/run/postgresql). When set the probe connects through it
        instead of O(host); O(host) still names the target in messages.
      - O(kind=mysql) too, as the path of the socket file, for example
        V(/run/mysqld/mysqld.sock); the result's C(host) is then that path.
    type: str
  database:
    description:
      - Database to connect to.
      - O(kind=postgresql) defaults to V(postgres).
      - O(kind=pgbouncer) pooled database for the C(SELECT 1) as O(login_user);
        defaults to O(expect_database), then to O(login_user).
      - O(kind=mysql) defaults to none selected.
    type: str
  expect_role:
    description:
      - O(kind=postgresql) only. Role the server must have.
      - Whatever is expected, a server found to be a replica must have a
        streaming WAL receiver, and a primary must have at least
        O(min_streaming_replicas) streaming replicas when that is set.
      - O(kind=mysql) too. A replica must have its IO and SQL threads running;
        V(replica) also requires C(read_only=ON) and V(primary) C(read_only=OFF).
      - O(kind=redis) too, where V(primary) is a Redis master. A replica must have
        its master link up and no initial sync in progress.
    type: str
    choices: [primary, replica, any]
    default: any
  max_lag_seconds:
    description:
      - O(kind=postgresql) only. On a replica, the replay lag in seconds must not exceed this.
      - The lag is V(0) when everything received is replayed, else the age of
        the last replayed transaction.
      - O(kind=mysql) too, compared with C(Seconds_Behind_Master) (MariaDB) or
        C(Seconds_Behind_Source) (MySQL).
    type: float
  max_lag_bytes:
    description:
      - O(kind=postgresql) only. On a replica, the WAL received but not yet
        replayed must not exceed this many bytes.
      - O(kind=redis) too. On a replica, the master's replication offset minus the
        replica's, read from both (the master at the address the replica follows).
    type: int
  warn_lag_seconds:
    description:
      - O(kind=postgresql) only. On a replica, a lag above this gives a V(warn) verdict.
      - O(kind=mysql) too, with the seconds behind the primary.
    type: float
  min_streaming_replicas:
    description:
      - O(kind=postgresql) only. On a primary, at least this many rows of
        C(pg_stat_replication) must have C(state = 'streaming').
      - O(kind=mysql) too. On a primary, at least this many C(Binlog Dump)
        threads (connected replicas) must be in C(information_schema.PROCESSLIST).
      - O(kind=redis) too. On a master, at least this many replicas in state C(online).
      - O(kind=sentinel) too. At least this many replicas of O(master_name) that the
        Sentinel sees up (not C(s_down), C(o_down) or C(disconnected)).
    type: int
  master_name:
    description:
      - O(kind=sentinel) only, and required there. Name the Sentinels monitor the
        master under (C(sentinel monitor <name> ...)).
    type: str
  min_sentinels:
    description:
      - O(kind=sentinel) only. At least this many Sentinels, this one included,
        must be known for O(master_name).
    type: int
  admin_user:
    description:
      - O(kind=pgbouncer) only. User for the admin console (database C(pgbouncer));
        must be listed in C(admin_users) or C(stats_users) of pgbouncer.ini.
    type: str
    default: pgbouncer
  admin_password:
    description:
      - O(kind=pgbouncer) only. Password of O(admin_user).
    type: str
  expect_database:
    description:
      - O(kind=pgbouncer) only. Database that must be listed by C(SHOW DATABASES).
    type: str
  url:
    description:
      - O(kind=http) only, and required there. URL to request, V(http://) or V(https://).
      - Proxy environment variables are ignored; the probe talks to the service directly.
    type: str
  paths:
    description:
      - O(kind=http) only. Probe each of these paths of O(url) at once, one probe each with
        the whole O(timeout), instead of O(url) alone, so one task probes a whole health contract.
      - The result holds each probe's own result under RV(results); the verdict is the worst of them.
      - Each probe's service is O(service) with C({path}) replaced by the path, or with the
        path appended.
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - Path appended to O(url), starting with V(/).
        type: str
        required: true
      check_json:
        description:
          - Whether the JSON expectations apply to this path (V(false) for a page or
            C(/metrics), which only need the status).
        type: bool
        default: true
  expect_status:
    description:
      - O(kind=http) only. Accepted HTTP status codes.
    type: list
    elements: int
    default: [200]
  expect_json:
    description:
      - O(kind=http) only. Expectations on fields of the JSON body, all of which must hold.
        A body that is not JSON fails them all.
      - Each names a O(expect_json[].field) and at most one test, O(expect_json[].equals),
        O(expect_json[].one_of) or O(expect_json[].present). With no test the field
        must be present.
    type: list
    elements: dict
    suboptions:
      field:
        description:
          - Dotted path of a field of the JSON body, for example V(status),
            V(checks.database) or V(items.0.name) (a number indexes a list).
        type: str
        required: true
      equals:
        description:
          - Value the field must have. A string is also compared with the JSON text
            of the field, so V(true), V(3) or V(null) match a JSON C(true), C(3) or C(null).
        type: raw
      one_of:
        description:
          - Values of which the field must have one, each compared as in O(expect_json[].equals).
        type: list
        elements: raw
      present:
        description:
          - V(true), the field must exist (the same as no test); V(false), it must not.
        type: bool
  json_field:
    description:
      - O(kind=http) only. Short form of one O(expect_json) entry, the dotted path of a
        field of the JSON body that must exist, and equal O(json_value) when that is set.
    type: str
  json_value:
    description:
      - O(kind=http) only. Value O(json_field) must have, compared as O(expect_json[].equals).
    type: raw
  failing_field:
    description:
      - O(kind=http) only. Dotted path of the field in which a JSON body names the
        parts that fail, for example a list C(["database"]) beside C(status).
        When the status is not one of O(expect_status), the message names those parts.
    type: str
    default: failing
  validate_certs:
    description:
      - O(kind=http) only. Whether to verify the TLS certificate.
    type: bool
    default: true
  worker_types:
    description:
      - O(kind=worker) only. Worker types that must be reported, each with C(status) V(ok).
      - Without it every type the server reports must be healthy, at least one must be
        reported, and the server must answer HTTP 200.
    type: list
    elements: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Probes only read, so they run normally in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Options that the selected O(kind) does not use are ignored with a warning.
requirements:
  - psycopg2 (Debian package C(python3-psycopg2)) or psycopg 3 on the target,
    for O(kind=postgresql) and O(kind=pgbouncer).
  - PyMySQL (Debian package C(python3-pymysql)) on the target, for O(kind=mysql).
'''

EXAMPLES = r'''
- name: Wait for the replica to stream with little lag
  bundle.stack.health_probe:
    kind: postgresql
    service: "{{ inventory_hostname }} postgres"
    unit: postgresql@15-main
    login_unix_socket: /var/run/postgresql
    expect_role: replica
    max_lag_seconds: 5
    warn_lag_seconds: 1
  become: true
  become_user: postgres

- name: Primary must have two streaming replicas
  bundle.stack.health_probe:
    kind: postgresql
    login_user: monitor
    login_password: "{{ monitor_password }}"
    expect_role: primary
    min_streaming_replicas: 2

- name: PgBouncer serves appdb end to end
  bundle.stack.health_probe:
    kind: pgbouncer
    unit: pgbouncer
    admin_password: "{{ pgbouncer_admin_password }}"
    expect_database: appdb
    login_user: app
    login_password: "{{ app_password }}"
  become: true

- name: Grafana is up and reports a healthy database
  bundle.stack.health_probe:
    kind: http
    service: grafana
    unit: grafana-server
    url: http://127.0.0.1:3000/api/health
    json_field: database
    json_value: ok
    timeout: 120

- name: Every endpoint of the application's health contract, at once, and its metrics
  bundle.stack.health_probe:
    kind: http
    service: refapp-backend {path}
    unit: refapp-backend.service
    url: http://127.0.0.1:8000
    paths:
      - path: /ready
      - path: /api/health/db
      - path: /metrics
        check_json: false
    json_field: status
    json_value: ok

- name: The application is ready; a 503 names the failing part in the message
  bundle.stack.health_probe:
    kind: http
    service: refapp backend
    url: http://127.0.0.1:8000/ready
    expect_json:
      - field: status
        equals: ok
      - field: timestamp
      - field: checks.database
        equals: connected
      - field: checks.migrations
        one_of: [up-to-date]
      - field: failing
        present: false

- name: The worker's health server reports its default worker type healthy
  bundle.stack.health_probe:
    kind: worker
    service: refapp worker
    unit: refapp-worker@default
    worker_types: [default]
    timeout: 30

- name: MariaDB replica replicates with little lag (root through the socket)
  bundle.stack.health_probe:
    kind: mysql
    unit: mariadb
    login_unix_socket: /run/mysqld/mysqld.sock
    expect_role: replica
    max_lag_seconds: 30
  become: true

- name: Redis port answers
  bundle.stack.health_probe:
    kind: tcp
    port: 6379
    timeout: 30
  register: redis_probe

- name: Redis replica follows its master with little lag
  bundle.stack.health_probe:
    kind: redis
    unit: redis-server
    login_user: monitor
    login_password: "{{ redis_monitor_password }}"
    expect_role: replica
    max_lag_bytes: 1048576

- name: Sentinel knows the master, reaches its quorum, sees 3 sentinels and 2 replicas
  bundle.stack.health_probe:
    kind: sentinel
    unit: redis-sentinel
    master_name: bundle
    login_user: sentinel-client
    login_password: "{{ redis_sentinel_client_password }}"
    min_sentinels: 3
    min_streaming_replicas: 2
'''

RETURN = r'''
verdict:
  description: V(pass), V(warn) (passed with warnings) or V(fail).
  returned: always
  type: str
  sample: pass
kind:
  description: The probed kind.
  returned: always
  type: str
  sample: postgres
service:
  description: The service name used in messages.
  returned: always
  type: str
  sample: postgres
host:
  description: Probed host (for O(kind=http), the host of O(url)).
  returned: always
  type: str
  sample: 127.0.0.1
port:
  description: Probed port.
  returned: always
  type: int
  sample: 5432
attempts:
  description: Number of attempts made.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds spent probing, rounded to hundredths.
  returned: always
  type: float
  sample: 4.07
expected:
  description: What the probe required, by name.
  returned: always
  type: dict
  sample: {"role": "replica", "wal_receiver_status": "streaming", "max_lag_seconds": 5.0}
observed:
  description:
    - What the last attempt saw. When it could not reach the service, only
      C(error) is set.
    - O(kind=postgresql) C(role), C(server_version), on a replica
      C(wal_receiver_status), C(lag_bytes), C(lag_seconds), on a primary C(streaming_replicas).
    - O(kind=pgbouncer) C(databases) (name to host, port, database), C(pools)
      (totals of C(cl_active), C(cl_waiting), C(sv_active), C(sv_idle), and the
      number of C(pools)), C(waiting_pools), C(expected_database), C(pooled_select).
    - O(kind=http) C(status), C(body_excerpt), with JSON expectations C(json_fields) (each
      expected field found, by path, with its value) or C(json_error), and C(failing) when
      the body has O(failing_field).
    - O(kind=worker) C(status) (HTTP), C(workers) (per worker type C(status),
      C(jobsProcessed), C(lastJobTime), C(reason), C(lastError)), or C(json_error) and
      C(body_excerpt) when the body is not the health server's JSON.
    - O(kind=tcp) C(connected).
    - O(kind=mysql) C(role), C(server_version), C(read_only), on a primary
      C(connected_replicas), on a replica C(io_running), C(sql_running),
      C(lag_seconds), C(using_gtid), C(source_host), C(source_port),
      C(last_io_error), C(last_sql_error).
    - O(kind=redis) C(role), C(redis_version), C(repl_offset), on a master C(replicas)
      (C(ip), C(port), C(state), C(offset), C(lag)), C(connected_replicas),
      C(online_replicas), on a replica C(master_host), C(master_port),
      C(master_link_status), C(master_sync_in_progress), C(master_last_io_seconds_ago)
      and, with O(max_lag_bytes), C(lag_bytes) or C(master_error).
    - O(kind=sentinel) C(master_name), C(master_known), C(master_host), C(master_port),
      C(master_flags), C(quorum), C(sentinels), C(replicas) (C(address), C(flags)),
      C(online_replicas), C(ckquorum_ok), C(ckquorum), C(failover_in_progress),
      C(down_after_milliseconds), C(failover_timeout), C(parallel_syncs).
  returned: always
  type: dict
  sample: {"role": "replica", "server_version": "15.8", "wal_receiver_status": "streaming",
           "lag_bytes": 0, "lag_seconds": 0}
probe_warnings:
  description:
    - Findings that do not fail the probe, for example lag above O(warn_lag_seconds)
      or clients waiting in a pool. Each is also shown as an Ansible warning.
    - Not named C(warnings) because Ansible consumes that key.
  returned: always
  type: list
  elements: str
  sample: ["lag 2.5 s above warning threshold 1 s"]
msg:
  description: One-line summary; on failure what was expected and seen, followed by the unit diagnosis.
  returned: always
  type: str
  sample: >-
    pg2 postgres (postgresql@15-main): expected role=replica, wal receiver streaming;
    saw connection refused after 30 attempts in 60.0 s.
results:
  description:
    - With O(paths), each path's own result (RV(verdict), RV(service), RV(msg) and the
      rest, as for one probe), in the order of O(paths). RV(expected) and RV(observed)
      then hold each path's under its service name.
  returned: with O(paths)
  type: list
  elements: dict
diagnosis:
  description: State and journal of O(unit).
  returned: when the verdict is V(fail) and O(unit) is set
  type: dict
  contains:
    unit:
      description: The unit.
      type: str
    active_state:
      description: C(ActiveState) of the unit.
      type: str
    sub_state:
      description: C(SubState) of the unit.
      type: str
    n_restarts:
      description: C(NRestarts) of the unit.
      type: str
    journal:
      description: Last O(log_lines) journal lines of the unit.
      type: list
      elements: str
    errors:
      description: Why part of the diagnosis could not be collected.
      type: list
      elements: str
  sample: {"unit": "postgresql@15-main", "active_state": "failed", "sub_state": "failed",
           "n_restarts": "0", "journal": ["... FATAL:  could not open file ..."], "errors": []}
'''

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bundle.stack.plugins.module_utils.engine_word import engine_word
from ansible_collections.bundle.stack.plugins.module_utils.health.diagnosis import (
    diagnose_unit,
    format_diagnosis,
    restart_watch,
)
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import (
    check_common_params,
    probe_argument_spec,
    probe_params,
    probe_required_if,
    run_probe,
    run_probes,
    unused_options,
)
from ansible_collections.bundle.stack.plugins.module_utils.health.registry import DEPRECATED_KINDS, PROBES


def main():
    argument_spec = probe_argument_spec(PROBES, DEPRECATED_KINDS)
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=probe_required_if(PROBES),
        supports_check_mode=True,
    )
    probe = PROBES[engine_word(module, 'kind')]
    params = probe_params(module.params, probe)

    error = check_common_params(params)
    if error:
        module.fail_json(msg=error)
    for name in unused_options(module.params, probe, argument_spec):
        module.warn(f'Option {name} is not used by kind={probe.kind} and is ignored.')
    if probe.preflight:
        probe.preflight(module, params)

    try:
        give_up = restart_watch(module, params['unit']) if params['fail_on_restart'] and params['unit'] else None
        many = probe.parts(params)
        result = run_probes(probe, params, many, give_up=give_up) if many else run_probe(probe, params, give_up=give_up)
    except Exception as exc:
        # A bug in a probe, not a service problem: still a readable failure.
        module.fail_json(msg=f"{probe.kind} probe of {params['service']} crashed: {exc}",
                         exception=traceback.format_exc())

    for warning in result['probe_warnings']:
        module.warn(f"{result['host']} {result['service']}: {warning}")
    if result['verdict'] == 'fail':
        if params['unit']:
            result['diagnosis'] = diagnose_unit(module, params['unit'], params['log_lines'])
            result['msg'] += ' ' + format_diagnosis(result['diagnosis'], params['log_lines'])
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
