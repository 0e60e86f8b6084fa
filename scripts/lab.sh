#!/usr/bin/env bash
# The main job: set everything up, create the lab, converge it with site.yml,
# and end with the health summary of smoke.yml.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
# shellcheck source=/dev/null
source "$ROOT/.venv/bin/activate"
cd "$ROOT"
ansible-playbook -i inventories/lab playbooks/lab.yml
# The release the app hosts run: app/build.py writes it to .releases/ (the same sources give the same bytes).
python app/build.py
ansible-playbook -i inventories/lab playbooks/site.yml
ansible-playbook -i inventories/lab playbooks/smoke.yml
