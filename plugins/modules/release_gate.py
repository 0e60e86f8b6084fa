#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Ansible modules keep their documentation ahead of the imports.

DOCUMENTATION = r'''
---
module: release_gate
short_description: Judge a release on app hosts by their error rate and p95 latency in Prometheus
description:
  - The metrics half of a release's health gate (the health contract is the other half,
    M(bundle.stack.health_probe)). Runs where Prometheus answers, usually a monitoring host.
  - O(mode=measure) reads each host's request count, 5xx count, error rate and p95 latency
    over the last O(window) seconds, the previous release's baseline taken before the switch.
  - O(mode=judge) waits the bake window (O(window) seconds, plus one O(scrape_interval) so that
    the last samples are in), sending synthetic traffic meanwhile when O(no_data=traffic), then
    measures the same numbers and judges them. The release fails when its error rate is over
    O(error_percent), its p95 over O(p95_seconds), either is more than O(baseline_factor) times
    the baseline (and over 1 % or 0.25 s, since doubling noise is not a regression), or Prometheus
    cannot scrape it. The hosts of O(instances) bake together and are judged one by one.
  - A window without a request is no data, judged by O(no_data) and never passed silently.
  - A failed verdict fails the task, its message naming the check, the number and the threshold;
    the result carries every check either way.
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  prometheus_url:
    description: Prometheus' base URL.
    type: str
    default: http://127.0.0.1:9090
  job:
    description: The scrape job of the application.
    type: str
    default: app
  instances:
    description: The hosts' instance labels in Prometheus (their inventory names).
    type: list
    elements: str
    required: true
  mode:
    description: V(measure) reads the numbers now; V(judge) bakes, reads and judges.
    type: str
    choices: [measure, judge]
    default: judge
  window:
    description: The bake window, in seconds; at least twice O(scrape_interval).
    type: int
    default: 60
  scrape_interval:
    description: Prometheus' scrape interval, in seconds.
    type: int
    default: 15
  error_percent:
    description: Highest error rate (5xx share of responses, in percent) that passes.
    type: float
    default: 5.0
  p95_seconds:
    description: Highest p95 latency, in seconds, that passes.
    type: float
    default: 2.0
  baseline:
    description:
      - The previous release's numbers by instance (the RV(measurements) of O(mode=measure)); an
        instance without them is judged by the thresholds only.
    type: dict
  baseline_factor:
    description: How many times the baseline's error rate or p95 a release may reach.
    type: float
    default: 2.0
  no_data:
    description:
      - What a window without requests means. V(fail) fails the release; V(pass) passes it,
        with a warning; V(traffic) (the default) sends synthetic GETs to O(traffic_urls) during
        the bake, so the release is judged on requests it served itself, and fails it if even
        those left no data.
      - V(traffic) is the default because V(fail) would block every deploy in a quiet hour and
        V(pass) would pass a release that never served a request.
    type: str
    choices: [fail, pass, traffic]
    default: traffic
  traffic_urls:
    description: Read-only URLs of the hosts' backends the synthetic traffic cycles through.
    type: list
    elements: str
    default: []
  traffic_rate:
    description: Synthetic requests per second (bounded by O(window)).
    type: float
    default: 5.0
  excluded_routes:
    description: Routes not counted (Prometheus' own scrapes).
    type: list
    elements: str
    default: [/metrics]
  timeout:
    description: Seconds each query or synthetic request may take.
    type: int
    default: 5
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Changes nothing either way; in check mode it neither bakes nor sends traffic, it reads the numbers now.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: bundle.stack.app_release
  - module: bundle.stack.health_probe
'''

EXAMPLES = r'''
- name: The previous release's baseline, before the switch
  bundle.stack.release_gate:
    instances: [app1]
    mode: measure
    window: 60
  delegate_to: "{{ groups['monitoring'][0] }}"
  register: baseline

- name: Bake the new release and judge it
  bundle.stack.release_gate:
    instances: [app1]
    window: 60
    baseline: "{{ baseline.measurements }}"
    traffic_urls: [http://10.0.0.21:8000/api/items]
  delegate_to: "{{ groups['monitoring'][0] }}"
'''

RETURN = r'''
verdict:
  description: V(passed) when every host passed, else V(failed) (O(mode=judge)); V(measured) for O(mode=measure).
  returned: always
  type: str
measurements:
  description: By instance, requests, errors, error_percent, p95_seconds, up and window_seconds over the window.
  returned: always
  type: dict
verdicts:
  description: By instance, its verdict, its checks (check, value, threshold, passed, detail) and its reason.
  returned: with O(mode=judge)
  type: dict
reason:
  description: The first failed host and the detail of its first failed check.
  returned: when the verdict is failed
  type: str
traffic:
  description: Synthetic requests sent during the bake and how many failed.
  returned: with O(mode=judge)
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bundle.stack.plugins.module_utils.release.gate import Prometheus, Traffic, judge, measure
from ansible_collections.bundle.stack.plugins.module_utils.release.ledger import ReleaseError


def main():
    module = AnsibleModule(argument_spec=dict(
        prometheus_url=dict(type='str', default='http://127.0.0.1:9090'),
        job=dict(type='str', default='app'),
        instances=dict(type='list', elements='str', required=True),
        mode=dict(type='str', default='judge', choices=['measure', 'judge']),
        window=dict(type='int', default=60),
        scrape_interval=dict(type='int', default=15),
        error_percent=dict(type='float', default=5.0),
        p95_seconds=dict(type='float', default=2.0),
        baseline=dict(type='dict'),
        baseline_factor=dict(type='float', default=2.0),
        no_data=dict(type='str', default='traffic', choices=['fail', 'pass', 'traffic']),
        traffic_urls=dict(type='list', elements='str', default=[]),
        traffic_rate=dict(type='float', default=5.0),
        excluded_routes=dict(type='list', elements='str', default=['/metrics']),
        timeout=dict(type='int', default=5),
    ), supports_check_mode=True)
    p = module.params
    if p['window'] < 2 * p['scrape_interval']:
        module.fail_json(msg=f"window={p['window']} s is shorter than two scrape intervals "
                             f"({2 * p['scrape_interval']} s): Prometheus would hold too few samples to judge")
    if p['mode'] == 'judge' and p['no_data'] == 'traffic' and not p['traffic_urls']:
        module.fail_json(msg='no_data=traffic needs traffic_urls: the read-only URLs the synthetic traffic uses')
    if p['traffic_rate'] <= 0:
        module.fail_json(msg=f"traffic_rate must be above 0, got {p['traffic_rate']}")
    prometheus = Prometheus(p['prometheus_url'], p['timeout'])
    hosts = ', '.join(p['instances'])
    result = dict(changed=False)

    def measure_all(seconds):
        return {instance: measure(prometheus, p['job'], instance, seconds, p['excluded_routes'])
                for instance in p['instances']}
    try:
        if p['mode'] == 'measure':
            module.exit_json(verdict='measured', measurements=measure_all(p['window']), **result)
        if not module.check_mode:
            traffic = Traffic(p['traffic_urls'], p['traffic_rate'], p['window'], p['timeout'])
            if p['no_data'] == 'traffic':
                traffic.start()
            # The bake, and one scrape more so that its last requests are in Prometheus.
            time.sleep(p['window'] + p['scrape_interval'])
            if p['no_data'] == 'traffic':
                traffic.join()
            result['traffic'] = dict(sent=traffic.sent, failed=traffic.failed)
        # Measured one scrape after the bake ended, over the bake and that scrape.
        result['measurements'] = measure_all(p['window'] + (0 if module.check_mode else p['scrape_interval']))
    except ReleaseError as exc:
        module.fail_json(msg=f'Release gate on {hosts}: {exc}', **result)
    limits = dict(error_percent=p['error_percent'], p95_seconds=p['p95_seconds'], baseline_factor=p['baseline_factor'])
    result['verdicts'] = {}
    for instance, measured in result['measurements'].items():
        verdict, checks, reason = judge(measured, limits, (p['baseline'] or {}).get(instance), p['no_data'])
        result['verdicts'][instance] = dict(verdict=verdict, checks=checks, reason=reason)
        if any(c['check'] == 'traffic' and c['passed'] for c in checks):
            module.warn(f'release gate on {instance}: no requests in the bake window, passed by no_data=pass')
    failed = [(instance, v['reason']) for instance, v in result['verdicts'].items() if v['verdict'] == 'failed']
    if failed:
        reason = f'{failed[0][0]}: {failed[0][1]}'
        module.fail_json(msg=f'Release gate failed on {reason}', verdict='failed', reason=reason, **result)
    module.exit_json(verdict='passed', **result)


if __name__ == '__main__':
    main()
