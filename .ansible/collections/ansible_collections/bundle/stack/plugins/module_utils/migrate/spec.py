# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The options schema_migrate and schema_rollback share (documented once in doc_fragments/migrate.py)."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.registry import ENGINE_CHOICES


def common_argument_spec():
    """The options of both modules; each adds its own with .update()."""
    return dict(
        engine=dict(type='str', default='postgresql', choices=ENGINE_CHOICES),
        database=dict(type='str', required=True),
        login_host=dict(type='str', default='127.0.0.1'),
        port=dict(type='int'),
        login_user=dict(type='str'),
        login_password=dict(type='str', no_log=True),
        login_unix_socket=dict(type='str'),
        connect_timeout=dict(type='int', default=10),
        lock_timeout=dict(type='str', default='10s'),
        ledger_table=dict(type='str', default='bundle_migration_ledger'),
        ledger_schema=dict(type='str', default='public'),
        force=dict(type='bool', default=False),
        backup_dir=dict(type='path'),
        backup_file=dict(type='str'),
        applied_by=dict(type='str'),
        history_limit=dict(type='int', default=20),
    )


def check_common_params(params, backup_wanted):
    """Problems with the options, as one message, or None."""
    if params['connect_timeout'] < 1:
        return f"connect_timeout must be 1 or more seconds, got {params['connect_timeout']}."
    if params['history_limit'] < 0:
        return f"history_limit must be 0 or more, got {params['history_limit']}."
    if backup_wanted and not params.get('backup_file') and not params.get('backup_dir'):
        return ('backup_dir is required: a backup is taken before the schema changes (or pass backup_file, '
                'a backup already taken by the bundle\'s backup module).')
    if params.get('ledger_table') and not params['ledger_table'].replace('_', '').isalnum():
        return f"ledger_table={params['ledger_table']} must be letters, digits and underscores only."
    return None
