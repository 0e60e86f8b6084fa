#!/usr/bin/env bash
# Regenerate requirements.lock from requirements.txt: every package, transitive ones
# included, pinned with the hashes of its published files, so scripts/setup.sh installs
# exactly these files (pip --require-hashes --no-deps) or nothing.
# Then app/requirements.lock from the dependencies in app/pyproject.toml, the same way and
# held to the pins of requirements.lock (--constraint): the reference application's release
# ships exactly those wheels, and the control node's venv, which installs both locks, has
# one version of every package they share.
# Run it after editing requirements.txt or the app's dependencies. Pins already in the lock are kept unless
# requirements.txt asks otherwise; extra arguments go to pip-compile, e.g.
# --upgrade (move every pin to the newest allowed) or --upgrade-package NAME.
# The lock is resolved for the control node's Python (3.11, see requirements.txt).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIP_TOOLS_VERSION="7.6.2"

# pip-tools is needed only here, so it lives in a throwaway venv, not in .venv.
tools="$(mktemp -d /tmp/bundle-lock.XXXXXX)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install -q "pip-tools==$PIP_TOOLS_VERSION"

cd "$ROOT"
# --allow-unsafe: pip itself is pinned in requirements.txt, so the installer is hashed too.
# No index or find-links lines: the lock names files by hash, not where a machine finds them.
# CUSTOM_COMPILE_COMMAND is what the lock's header tells a reader to run.
CUSTOM_COMPILE_COMMAND="scripts/lock.sh   (after editing requirements.txt)" \
  "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --output-file requirements.lock "$@" requirements.txt
CUSTOM_COMPILE_COMMAND="scripts/lock.sh   (after editing app/pyproject.toml's dependencies)" \
  "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --constraint requirements.lock \
  --output-file app/requirements.lock "$@" app/pyproject.toml
# Debian bookworm's hosts run Python 3.11.2, where redis also needs async-timeout (its marker
# is python_full_version < "3.11.3"); pip-compile resolves for the control node's newer 3.11
# and leaves it out, so the release would not install there.
cat >> app/requirements.lock <<'LOCK'
async-timeout==5.0.1 \
    --hash=sha256:39e3809566ff85354557ec2398b55e096c8364bacac9405a7a1fa429e77fe76c
    # via redis (Python < 3.11.3: Debian bookworm hosts)
LOCK
echo "requirements.lock and app/requirements.lock written; commit them with what changed"
