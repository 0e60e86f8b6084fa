# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tcp kind of health_probe: the port accepts a TCP connection."""

from __future__ import annotations

import socket

from ansible.module_utils.bundle_health import Probe, ProbeError, describe_error

ARGUMENT_SPEC = {}


def check_tcp(params, attempt_timeout):
    try:
        connection = socket.create_connection((params['host'], params['port']), timeout=attempt_timeout)
    except OSError as exc:
        raise ProbeError(describe_error(exc)) from exc
    connection.close()
    return {'connected': True}


def evaluate_tcp(observed, params):
    # Reaching this point means the connection was accepted.
    return [], []


def tcp_expectations(params):
    return {'connected': True}, [f"port {params['port']} accepting TCP connections"]


PROBE = Probe(
    kind='tcp',
    argument_spec=ARGUMENT_SPEC,
    check=check_tcp,
    evaluate=evaluate_tcp,
    expectations=tcp_expectations,
    required=['port'],
)
