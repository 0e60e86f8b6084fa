"""alertmanager.yml as the alertmanager role writes it, with one receiver of
each type: the role's own preflight and template task (on localhost, into a
temporary file) with Debian's `amtool check-config` as its validate command,
then `amtool config routes test` to show where each severity goes."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

PROJECT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = PROJECT / "roles" / "alertmanager" / "templates" / "etc" / "prometheus" / "alertmanager.yml.j2"
SETTINGS = {
    "alertmanager_receivers": [
        {"name": "oncall", "type": "slack", "url": "https://hooks.example.invalid/services/T0/B0/secret",
         "channel": "#alerts"},
        {"name": "ticketing", "type": "webhook", "url": "http://127.0.0.1:9/alerts", "send_resolved": False},
        {"name": "team-mail", "type": "email", "to": "team@example.invalid"},
    ],
    "alertmanager_critical_receivers": ["oncall", "ticketing"],
    "alertmanager_warning_receivers": ["team-mail"],
    "alertmanager_smtp_smarthost": "smtp.example.invalid:587",
    "alertmanager_smtp_from": "alertmanager@example.invalid",
    "alertmanager_smtp_auth_username": "alertmanager",
    "alertmanager_smtp_auth_password": "not-a-real-password",
}


@pytest.fixture(scope="module")
def config(amtool, tmp_path_factory):
    work = tmp_path_factory.mktemp("alertmanager")
    dest = work / "alertmanager.yml"
    playbook = [{
        "name": "Write alertmanager.yml as the role does",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "Check the settings", "ansible.builtin.include_role": {
                "name": "bundle.stack.alertmanager", "tasks_from": "preflight", "public": True}},
            {"name": "Write and validate the configuration", "ansible.builtin.template": {
                "src": str(TEMPLATE), "dest": str(dest), "mode": "0600",
                "validate": f"{amtool} check-config %s"}},
        ],
    }]
    (work / "playbook.yml").write_text(yaml.safe_dump(playbook))
    (work / "settings.json").write_text(json.dumps(SETTINGS))
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", "@" + str(work / "settings.json"),
         "-e", f"ansible_python_interpreter={sys.executable}", str(work / "playbook.yml")],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "not-a-real-password" not in result.stdout and "T0/B0/secret" not in result.stdout
    return dest


def routes(amtool, config, *labels):
    result = subprocess.run([str(amtool), "config", "routes", "test", f"--config.file={config}", *labels],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return sorted(result.stdout.strip().split(","))


def test_every_receiver_type_renders_and_passes_amtool(config):
    document = yaml.safe_load(config.read_text())
    receivers = {receiver["name"]: receiver for receiver in document["receivers"]}
    assert receivers["oncall"]["slack_configs"][0]["api_url"] == SETTINGS["alertmanager_receivers"][0]["url"]
    assert receivers["oncall"]["slack_configs"][0]["channel"] == "#alerts"
    assert receivers["ticketing"]["webhook_configs"][0] == {"url": "http://127.0.0.1:9/alerts", "send_resolved": False}
    assert receivers["team-mail"]["email_configs"][0]["to"] == "team@example.invalid"
    assert document["global"]["smtp_smarthost"] == "smtp.example.invalid:587"
    assert "blackhole" in receivers and len(receivers["blackhole"]) == 1


def test_alerts_route_by_severity(amtool, config):
    assert routes(amtool, config, "alertname=PostgreSQLDown", "severity=critical") == ["oncall", "ticketing"]
    assert routes(amtool, config, "alertname=NodeDiskFull", "severity=warning") == ["team-mail"]
    assert routes(amtool, config, "alertname=Whatever", "severity=info") == ["blackhole"]


def test_criticals_inhibit_matching_warnings(config):
    inhibit = yaml.safe_load(config.read_text())["inhibit_rules"]
    assert inhibit == [{"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
                        "equal": ["alertname", "instance"]}]
