# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The systemd unit diagnosis health_probe adds to a failed probe's message."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.health.probe import one_line


def parse_systemctl_show(text):
    """'Key=Value' lines of `systemctl show` as a dict."""
    properties = {}
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if sep:
            properties[key.strip()] = value.strip()
    return properties


def unit_state(module, unit):
    """(ActiveState, SubState, NRestarts) of a systemd unit; raises OSError naming why not."""
    systemctl = module.get_bin_path('systemctl')
    if not systemctl:
        raise OSError('systemctl not found on this host')
    rc, out, err = module.run_command(
        [systemctl, 'show', '-p', 'ActiveState', '-p', 'SubState', '-p', 'NRestarts', unit])
    if rc != 0:
        raise OSError(f'systemctl show {unit}: rc={rc} {one_line(err)}')
    properties = parse_systemctl_show(out)
    return properties.get('ActiveState'), properties.get('SubState'), properties.get('NRestarts')


def restart_watch(module, unit):
    """give_up for the probe loop: why to stop waiting once the unit failed or restarted
    (its NRestarts grew) since the probe began: a crash loop does not heal within a deadline."""
    try:
        first = int(unit_state(module, unit)[2] or 0)
    except (OSError, ValueError):
        return None

    def give_up():
        try:
            active, sub, restarts = unit_state(module, unit)
        except OSError:
            return None
        if active == 'failed' or int(restarts or 0) > first:
            return f'{unit} is {active}/{sub} and restarted {int(restarts or 0) - first} time(s) during the probe'
        return None
    return give_up


def diagnose_unit(module, unit, log_lines):
    """State and last journal lines of a systemd unit, for a failed probe."""
    diagnosis = dict(unit=unit, active_state=None, sub_state=None, n_restarts=None,
                     journal=[], errors=[])
    try:
        diagnosis['active_state'], diagnosis['sub_state'], diagnosis['n_restarts'] = unit_state(module, unit)
    except OSError as exc:
        diagnosis['errors'].append(str(exc))
    journalctl = module.get_bin_path('journalctl')
    if journalctl and log_lines > 0:
        rc, out, err = module.run_command(
            [journalctl, '-u', unit, '--no-pager', '-n', str(log_lines)])
        if rc == 0:
            diagnosis['journal'] = out.rstrip('\n').splitlines()
        else:
            diagnosis['errors'].append(f'journalctl -u {unit}: rc={rc} {one_line(err)}')
    elif not journalctl:
        diagnosis['errors'].append('journalctl not found on this host')
    return diagnosis


def format_diagnosis(diagnosis, log_lines):
    """The diagnosis as the tail of a failure message."""
    text = f"Unit {diagnosis['unit']}: "
    if diagnosis['active_state'] is None:
        text += 'state unknown.'
    else:
        text += (f"ActiveState={diagnosis['active_state']} SubState={diagnosis['sub_state']} "
                 f"NRestarts={diagnosis['n_restarts']}.")
    if diagnosis['errors']:
        text += f" Diagnosis errors: {'; '.join(diagnosis['errors'])}."
    if log_lines > 0:
        journal = '\n'.join(diagnosis['journal']) or '(none)'
        text += f' Last {log_lines} log lines:\n{journal}'
    return text
