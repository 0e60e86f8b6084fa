# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""lab_secret: a random secret kept in a file, created on first use, read without a lock.

ansible.builtin.password takes a lock file for every read; when several hosts read
the same secret at once, all but one sleep a whole second (then two, then four). The
lab reads its secrets in nearly every task, on up to ten hosts at a time, so those
sleeps added seconds to each run. Here the first writer wins by creating the file
with a hard link (atomic, fails if it exists); everyone else just reads it.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: lab_secret
short_description: A random secret kept in a file on the control node, created on first use
description:
  - Returns the first word of the file at each term's path; when the file does not exist,
    creates it (mode 0600, its directory 0700) with a new random secret of letters and digits.
  - Reading takes no lock, so many hosts may read one secret at the same time without waiting.
    Files written by M(ansible.builtin.password) lookups are read as they are.
  - For the lab and test scenarios only; staging and production take their secrets from the
    environment or Ansible Vault.
options:
  _terms:
    description: Paths of the secret files.
    type: list
    elements: path
    required: true
  length:
    description: Length of a new secret.
    type: int
    default: 32
"""

EXAMPLES = r"""
app_password: "{{ lookup('bundle.stack.lab_secret', playbook_dir ~ '/../.lab/secrets/app') }}"
"""

RETURN = r"""
_raw:
  description: One secret per term.
  type: list
  elements: str
"""

import os
import secrets
import string

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

ALPHABET = string.ascii_letters + string.digits


def read_secret(path):
    with open(path, encoding='utf-8') as handle:
        words = handle.read().split()
    if not words:
        raise AnsibleLookupError(f'the secret file {path} is empty: remove it to have a new secret made')
    return words[0]


def create_secret(path, length):
    """Write a new secret unless another process got there first; return the one in the file."""
    os.makedirs(os.path.dirname(path) or '.', mode=0o700, exist_ok=True)
    candidate = f'{path}.{os.getpid()}.{secrets.token_hex(4)}'
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
            handle.write(''.join(secrets.choice(ALPHABET) for _ in range(length)) + '\n')
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(candidate)
    return read_secret(path)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        length = self.get_option('length')
        if length < 16:
            raise AnsibleLookupError(f'length must be at least 16, got {length}')
        values = []
        for term in terms:
            path = os.path.abspath(os.path.expanduser(str(term)))
            try:
                values.append(read_secret(path))
            except FileNotFoundError:
                values.append(create_secret(path, length))
        return values
