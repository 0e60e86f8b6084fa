# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one engine word per database (`postgresql`, `mysql`, `redis`) and the old
spellings still accepted, shared by the backup and migrate subsystems."""

from __future__ import annotations

# Engine names operators typed before one word per engine was chosen; backups on
# disk still carry them in their manifest.
DEPRECATED_ENGINE_NAMES = {'postgres': 'postgresql'}
# The release of the collection that stops accepting the old spellings.
DEPRECATED_ENGINE_NAMES_REMOVED_IN = '2.0.0'


def canonical_engine_name(name):
    """The engine word a deprecated spelling stands for (postgres -> postgresql)."""
    return DEPRECATED_ENGINE_NAMES.get(name, name)


def engine_word(module, option='engine'):
    """The engine word of module.params[option], after a deprecation for an old spelling."""
    name = module.params[option]
    if name in DEPRECATED_ENGINE_NAMES:
        new = DEPRECATED_ENGINE_NAMES[name]
        module.deprecate(f'{option}={name} is the old spelling of {option}={new}: write {option}={new}.',
                         version=DEPRECATED_ENGINE_NAMES_REMOVED_IN, collection_name='bundle.stack')
    return canonical_engine_name(name)
