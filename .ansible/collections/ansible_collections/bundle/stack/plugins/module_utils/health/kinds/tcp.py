# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tcp kind of health_probe: the port accepts a TCP connection."""

from __future__ import annotations

import socket

from ansible_collections.bundle.stack.plugins.module_utils.health.probe import Probe, ProbeError, describe_error


class TcpProbe(Probe):
    kind = 'tcp'
    required = ('port',)

    def check(self, params, attempt_timeout):
        try:
            connection = socket.create_connection((params['host'], params['port']), timeout=attempt_timeout)
        except OSError as exc:
            raise ProbeError(describe_error(exc)) from exc
        connection.close()
        return {'connected': True}

    def evaluate(self, observed, params):
        # Reaching this point means the connection was accepted.
        return [], []

    def expectations(self, params):
        return {'connected': True}, [f"port {params['port']} accepting TCP connections"]


PROBE = TcpProbe()
