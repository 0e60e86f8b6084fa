# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The PostgreSQL reverse-SQL generator: one Reverser made of one mixin per statement family."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.refs import rename_refs
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.reverse_alter_table import (
    AlterTableReverses,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.reverse_do_blocks import DoBlockReverses
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.reverse_functions_triggers import (
    FunctionTriggerReverses,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.reverse_grants_misc import (
    GrantMiscReverses,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.reverse_tables import TableReverses
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.reverse_types import TypeReverses
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    ast,
    enums,
    make_key,
    node_name,
    qi,
    rv_parts,
    rv_ref,
    split_key,
    split_statements,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import Ref, reverse_statements, unsupported
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import Reverser as BaseReverser
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import StatementState as BaseStatementState

# --- the snapshot, as the generator reads it ---------------------------------------


class StatementState(BaseStatementState):
    """The snapshot of one statement, with names resolved to (schema, name)."""

    def resolved(self, ref):
        """(schema, name) the ref resolved to, or the parts as written."""
        key = self.key(ref)
        if key:
            return split_key(key)
        return (ref.schema, ref.name)


# --- the generator ---------------------------------------------------------------------

class Reverser(TableReverses, AlterTableReverses, TypeReverses, FunctionTriggerReverses, GrantMiscReverses,
               DoBlockReverses, BaseReverser):
    """Reverses the statements of one PostgreSQL migration, last first.

    reverse() dispatches on the parse tree's node type to reverse_<NodeType>, which one
    mixin per statement family defines; the base keeps the bookkeeping they share.
    """

    state_class = StatementState

    # --- bookkeeping of what the migration itself created ---

    def ref_id(self, ref, state):
        key = state.key(ref)
        if key:
            return key
        schema = ref.schema
        return make_key(ref.kind, schema, ref.name) if schema else f'{ref.kind}:?.{qi(ref.name)}'

    def is_created(self, ref, state):
        return self.ref_id(ref, state) in self.created

    def track(self, stmt, state):
        node = stmt.node
        if isinstance(node, ast.CreateStmt):
            self.created.add(self.ref_id(rv_ref(node.relation), state))
        elif isinstance(node, ast.CreateTableAsStmt):
            self.created.add(self.ref_id(rv_ref(node.into.rel), state))
        elif isinstance(node, ast.AlterTableStmt):
            table = self.ref_id(Ref('rel', rv_parts(node.relation)), state)
            for cmd in node.cmds:
                if cmd.subtype == enums.AlterTableType.AT_AddColumn:
                    self.added_columns.setdefault(table, set()).add(cmd.def_.colname)
        elif isinstance(node, ast.RenameStmt) and node.relation is not None and node.renameType in (
                enums.ObjectType.OBJECT_TABLE, enums.ObjectType.OBJECT_VIEW, enums.ObjectType.OBJECT_MATVIEW):
            old, new = rename_refs(node)[:2]
            if self.ref_id(old, state) in self.created:
                self.created.add(self.ref_id(new, state))
            if self.ref_id(old, state) in self.added_columns:
                self.added_columns[self.ref_id(new, state)] = self.added_columns[self.ref_id(old, state)]

    # --- session settings: SET before the statements they govern, RESET at the end ---

    def setting(self, stmt, settings):
        if not isinstance(stmt.node, ast.VariableSetStmt):
            return False
        if stmt.node.kind == enums.VariableSetKind.VAR_RESET_ALL:
            settings.clear()
        else:
            settings[stmt.node.name or 'all'] = stmt.sql
        return True

    def settings_sql(self, emitted, wanted):
        resets = [f'RESET {qi(name)}' for name in sorted(set(emitted) - set(wanted))]
        return resets + [sql for name, sql in wanted.items() if emitted.get(name) != sql]

    def settings_end_sql(self, emitted):
        # Back to the session's own settings, as they were before the migration ran.
        return ['RESET ALL' if name == 'all' else f'RESET {qi(name)}' for name in sorted(emitted)]

    def reverse(self, stmt, state):
        handler = getattr(self, 'reverse_' + node_name(stmt.node), None)
        if handler is None:
            raise unsupported(f'no reverse rule for {node_name(stmt.node)} statements; '
                              'write a -- migrate:down section for this migration')
        return handler(stmt, stmt.node, state)


def reverse_migration(up_sql, snapshot=None, force=False):
    """The reverse of a migration's up SQL as a ReversePlan.

    snapshot: what schema_migrate recorded while applying it
    ({"statements": [StatementState data, ...]}), or None.
    """
    return reverse_statements(Reverser, split_statements(up_sql), snapshot, force)
