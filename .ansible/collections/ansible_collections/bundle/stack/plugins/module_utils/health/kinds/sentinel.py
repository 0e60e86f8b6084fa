# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""sentinel kind of health_probe: the Sentinel knows the master, SENTINEL
CKQUORUM passes, and it sees enough Sentinels and replicas that are up.

Speaks RESP over a socket with the client in health/resp.py."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.health.probe import (
    Probe,
    ProbeError,
    describe_error,
    shared_options,
)
from ansible_collections.bundle.stack.plugins.module_utils.health.resp import (
    RespError,
    RespProtocolError,
    connect,
    describe_reply_error,
    guarded,
    to_int,
)

ARGUMENT_SPEC = dict(
    master_name=dict(type='str'),
    min_sentinels=dict(type='int'),
    **shared_options('login_user', 'login_password', 'min_streaming_replicas'),
)

# Flags that mean Sentinel does not count an instance as usable.
DOWN_FLAGS = ('s_down', 'o_down', 'disconnected')


def pairs(flat):
    """A flat [key, value, key, value, ...] reply as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=False))


def answer(client, *args):
    """The reply of a command, an error reply as a RespError value; a broken
    connection as ProbeError."""
    try:
        return client.call(*args)
    except RespError as exc:
        return exc
    except (OSError, RespProtocolError) as exc:
        raise ProbeError(describe_error(exc)) from exc


def summarize_sentinel(name, master, ckquorum, replicas):
    """Observed dict from SENTINEL MASTER, CKQUORUM and REPLICAS replies."""
    flags = [flag for flag in master.get('flags', '').split(',') if flag]
    seen = [dict(address=f"{replica.get('ip')}:{replica.get('port')}",
                 flags=[flag for flag in replica.get('flags', '').split(',') if flag])
            for replica in replicas]
    return dict(
        master_name=name,
        master_known=True,
        master_host=master.get('ip'),
        master_port=to_int(master.get('port')),
        master_flags=flags,
        quorum=to_int(master.get('quorum')),
        sentinels=(to_int(master.get('num-other-sentinels')) or 0) + 1,
        replicas=seen,
        online_replicas=sum(1 for replica in seen if not set(replica['flags']) & set(DOWN_FLAGS)),
        ckquorum_ok=not isinstance(ckquorum, RespError),
        ckquorum=' '.join(str(ckquorum).split()),
        failover_in_progress='failover_in_progress' in flags,
        down_after_milliseconds=to_int(master.get('down-after-milliseconds')),
        failover_timeout=to_int(master.get('failover-timeout')),
        parallel_syncs=to_int(master.get('parallel-syncs')),
    )


class SentinelProbe(Probe):
    kind = 'sentinel'
    argument_spec = ARGUMENT_SPEC
    defaults = dict(port=26379)
    required = ('master_name',)

    def check(self, params, attempt_timeout):
        name = params['master_name']
        with connect(params, params['host'], params['port'], attempt_timeout) as client:
            if guarded(client, 'PING') != 'PONG':
                raise ProbeError('PING did not answer PONG')
            master = answer(client, 'SENTINEL', 'MASTER', name)
            if isinstance(master, RespError):
                if 'No such master' in str(master):
                    return dict(master_name=name, master_known=False)
                raise ProbeError(describe_reply_error(master))
            # NOQUORUM ... is an answer to report, not a failure to observe.
            ckquorum = answer(client, 'SENTINEL', 'CKQUORUM', name)
            replicas = [pairs(entry) for entry in guarded(client, 'SENTINEL', 'REPLICAS', name)]
        return summarize_sentinel(name, pairs(master), ckquorum, replicas)

    def evaluate(self, observed, params):
        problems, warnings = [], []
        if not observed['master_known']:
            return [f"master {observed['master_name']} not monitored by this Sentinel"], []
        address = f"{observed['master_host']}:{observed['master_port']}"
        down = [flag for flag in observed['master_flags'] if flag in DOWN_FLAGS]
        if down:
            problems.append(f"master {address} is {','.join(down)}")
        if observed['failover_in_progress']:
            problems.append(f'failover of {address} in progress')
        if not observed['ckquorum_ok']:
            problems.append(f"CKQUORUM failed: {observed['ckquorum']}")
        wanted = params.get('min_sentinels')
        if wanted is not None and observed['sentinels'] < wanted:
            problems.append(f"{observed['sentinels']} sentinels seen (need >= {wanted})")
        wanted = params.get('min_streaming_replicas')
        if wanted is not None and observed['online_replicas'] < wanted:
            problems.append(f"{observed['online_replicas']} replicas up (need >= {wanted})")
        for replica in observed['replicas']:
            flags = set(replica['flags']) & set(DOWN_FLAGS)
            if flags and wanted is None:
                warnings.append(f"replica {replica['address']} is {','.join(sorted(flags))}")
        return problems, warnings

    def expectations(self, params):
        name = params['master_name']
        expected = {'master_name': name, 'master_known': True, 'ckquorum': 'OK'}
        phrases = [f'master {name} known and up', 'CKQUORUM OK']
        if params.get('min_sentinels') is not None:
            expected['min_sentinels'] = params['min_sentinels']
            phrases.append(f"sentinels >= {params['min_sentinels']}")
        if params.get('min_streaming_replicas') is not None:
            expected['min_online_replicas'] = params['min_streaming_replicas']
            phrases.append(f"replicas up >= {params['min_streaming_replicas']}")
        return expected, phrases

    def describe(self, observed):
        if not observed.get('master_known'):
            return f"master {observed['master_name']} unknown"
        return (f"master {observed['master_name']} at {observed['master_host']}:{observed['master_port']}, "
                f"{observed['sentinels']} sentinels, {observed['online_replicas']}/{len(observed['replicas'])} "
                f"replicas up, quorum {observed['quorum']}")


PROBE = SentinelProbe()
