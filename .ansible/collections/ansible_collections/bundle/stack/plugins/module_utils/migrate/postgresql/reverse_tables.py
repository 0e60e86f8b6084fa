# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse rules for tables, views, indexes, sequences, DROP and data statements."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.refs import (
    TABLE_CHILD_KINDS,
    object_refs,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.restore import (
    policy_sql,
    restore_function,
    restore_relation,
    restore_schema,
    restore_table,
    restore_type,
    restore_view,
    sequence_options_sql,
    strip_semicolon,
    trigger_state_sql,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    absent,
    ast,
    deparse,
    enums,
    literal,
    qi,
    qn,
    rel_ref,
    rv_parts,
    rv_ref,
    strings,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import (
    UNKNOWN,
    existed,
    unsupported,
)


class TableReverses:
    """CREATE/DROP of relations and the statements that change rows."""

    def reverse_CreateStmt(self, stmt, node, state):
        ref = rv_ref(node.relation)
        if node.if_not_exists and existed(state.before(ref)):
            return []
        return [f'DROP TABLE {qn(*rv_parts(node.relation))}']

    def reverse_CreateForeignTableStmt(self, stmt, node, state):
        ref = rv_ref(node.base.relation)
        if node.base.if_not_exists and existed(state.before(ref)):
            return []
        return [f'DROP FOREIGN TABLE {qn(*rv_parts(node.base.relation))}']

    def reverse_CreateTableAsStmt(self, stmt, node, state):
        ref = rv_ref(node.into.rel)
        if node.if_not_exists and existed(state.before(ref)):
            return []
        word = 'MATERIALIZED VIEW' if node.objtype == enums.ObjectType.OBJECT_MATVIEW else 'TABLE'
        return [f'DROP {word} {qn(*rv_parts(node.into.rel))}']

    def reverse_ViewStmt(self, stmt, node, state):
        ref = rv_ref(node.view)
        target = qn(*rv_parts(node.view))
        before = state.before(ref)
        if node.replace and before is UNKNOWN:
            raise unsupported(f'CREATE OR REPLACE VIEW {target}: the snapshot does not say whether it existed')
        if not existed(before):
            return [f'DROP VIEW {target}']
        after = self.need(state.after(ref), f'view {target} after the statement')
        old_cols = [(c['name'], c['type']) for c in before['columns']]
        new_cols = [(c['name'], c['type']) for c in after['columns']]
        if old_cols[:len(new_cols)] == new_cols and before.get('options') == after.get('options'):
            return [f"CREATE OR REPLACE VIEW {target} AS {strip_semicolon(before['view_definition'])}"]
        return [f'DROP VIEW {target}'] + restore_view(before)

    def reverse_IndexStmt(self, stmt, node, state):
        table_parts = rv_parts(node.relation)
        table_ref = rel_ref(table_parts)
        schema = state.resolved(table_ref)[0] if state.key(table_ref) else (
            table_parts[0] if len(table_parts) > 1 else None)
        if node.idxname:
            index_ref = rel_ref(table_parts[:-1] + (node.idxname,))
            if node.if_not_exists and existed(state.before(index_ref)):
                return []
            names = [node.idxname]
        else:
            before = self.need(state.before(table_ref), f'the indexes of {qn(*table_parts)} before the statement')
            after = self.need(state.after(table_ref), f'the indexes of {qn(*table_parts)} after the statement')
            names = sorted(set(after.get('indexes', {})) - set(before.get('indexes', {})))
            if not names:
                raise unsupported(f'cannot find the index this statement created on {qn(*table_parts)}')
        return [f'DROP INDEX {qn(schema, name)}' for name in names]

    def reverse_CreateSeqStmt(self, stmt, node, state):
        ref = rv_ref(node.sequence)
        if node.if_not_exists and existed(state.before(ref)):
            return []
        return [f'DROP SEQUENCE {qn(*rv_parts(node.sequence))}']

    def reverse_AlterSeqStmt(self, stmt, node, state):
        ref = rv_ref(node.sequence)
        target = qn(*rv_parts(node.sequence))
        before = state.before(ref)
        if node.missing_ok and absent(before):
            return []
        before = self.need(before, f'sequence {target} before the statement')
        statements = [f"ALTER SEQUENCE {target} {sequence_options_sql(before['sequence'])}"]
        options = {o.defname for o in node.options or ()}
        if 'owned_by' in options:
            owned = before['sequence'].get('owned_by')
            statements.append(f'ALTER SEQUENCE {target} OWNED BY {owned or "NONE"}')
        if 'restart' in options:
            self.notes.append(f'{target}: RESTART is not undone (a sequence position is data, not schema)')
        return statements

    # --- DROP ---

    def reverse_DropStmt(self, stmt, node, state):
        kind = enums.ObjectType(node.removeType).name
        cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
        statements = []
        for obj in reversed(node.objects):
            refs = object_refs(node.removeType, obj)
            ref = refs[0] if refs else None
            before = state.before(ref) if ref else UNKNOWN
            if ref is not None and self.is_created(ref, state) and kind in (
                    'OBJECT_TABLE', 'OBJECT_SEQUENCE', 'OBJECT_FOREIGN_TABLE'):
                continue  # created earlier in this migration: nothing to bring back
            if node.missing_ok and absent(before) and kind not in TABLE_CHILD_KINDS:
                continue
            statements.extend(self.undrop(stmt, kind, obj, ref, before, state, cascade))
        return statements

    def undrop(self, stmt, kind, obj, ref, before, state, cascade):
        name = '.'.join(strings(obj)) if isinstance(obj, tuple) else (
            '.'.join(p for p in ref.parts if p) if ref is not None else deparse(obj))
        if kind in ('OBJECT_TABLE', 'OBJECT_FOREIGN_TABLE'):
            restore = restore_table(before) if existed(before) else []
            return self.destroys(stmt, f'drops table {name} and every row in it', restore)
        if kind == 'OBJECT_SEQUENCE':
            return self.destroys(stmt, f'drops sequence {name} and its current value', [])
        if cascade and kind in ('OBJECT_SCHEMA', 'OBJECT_TYPE', 'OBJECT_DOMAIN', 'OBJECT_EXTENSION'):
            return self.destroys(stmt, f'drops {kind[7:].lower()} {name} with CASCADE, taking every dependent '
                                       'object (and its data) with it', [])
        if cascade:
            raise unsupported(f'DROP ... CASCADE of {name}: the dependent objects it took are not known')
        if kind in TABLE_CHILD_KINDS:
            table = self.need(before, f'table of {name}')
            if table is None:
                return []
            child = strings(obj)[-1]
            target = qn(*state.resolved(ref)) if state.key(ref) else qn(*strings(obj)[:-1])
            if kind == 'OBJECT_TRIGGER':
                trigger = table.get('triggers', {}).get(child)
                if trigger is None:
                    return []
                return [trigger['def']] + trigger_state_sql(target, child, trigger)
            if kind == 'OBJECT_POLICY':
                policy = table.get('policies', {}).get(child)
                return [policy_sql(target, child, policy)] if policy else []
            if kind == 'OBJECT_RULE':
                rule = table.get('rules', {}).get(child)
                return [strip_semicolon(rule['def'])] if rule else []
        before = self.need(before, f'{name} before the statement')
        if before is None:
            raise unsupported(f'{name} is not in the snapshot')
        if kind in ('OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX'):
            return restore_relation(before)
        if kind in ('OBJECT_TYPE', 'OBJECT_DOMAIN'):
            return restore_type(before)
        if kind == 'OBJECT_SCHEMA':
            return restore_schema(ref.name, before)
        if kind == 'OBJECT_EXTENSION':
            return [f"CREATE EXTENSION {qi(ref.name)} WITH SCHEMA {qi(before['schema'])} "
                    f"VERSION {literal(before['version'])}"]
        if kind in ('OBJECT_FUNCTION', 'OBJECT_PROCEDURE', 'OBJECT_ROUTINE', 'OBJECT_AGGREGATE'):
            args = state.member(ref)
            overloads = before.get('overloads', {})
            if args is None and len(overloads) == 1:
                args = next(iter(overloads))
            if args not in overloads:
                raise unsupported(f'cannot find {name} in the snapshot')
            schema, fname = state.resolved(ref)
            return restore_function(schema, fname, args, overloads[args])
        raise unsupported(f'no reverse rule for DROP {kind[7:]}')

    # --- data ---

    def data_statement(self, stmt, ref, state, what):
        if self.is_created(ref, state):
            return []
        return self.destroys(stmt, what, [])

    def reverse_TruncateStmt(self, stmt, node, state):
        if all(self.is_created(rv_ref(r), state) for r in node.relations):
            return []
        names = ', '.join(qn(*rv_parts(r)) for r in node.relations)
        return self.destroys(stmt, f'empties {names}: the rows are gone', [])

    def reverse_DeleteStmt(self, stmt, node, state):
        return self.data_statement(stmt, rv_ref(node.relation), state,
                                   f'deletes rows of {qn(*rv_parts(node.relation))}')

    def reverse_UpdateStmt(self, stmt, node, state):
        ref = rv_ref(node.relation)
        targets = {t.name for t in node.targetList}
        added = self.added_columns.get(self.ref_id(ref, state), set())
        if targets <= added or self.is_created(ref, state):
            return []  # fills columns this migration added: dropping them undoes it
        return self.destroys(stmt, f'overwrites {", ".join(sorted(targets))} of {qn(*rv_parts(node.relation))}: '
                                   'the old values are gone', [])

    def reverse_InsertStmt(self, stmt, node, state):
        ref = rv_ref(node.relation)
        if self.is_created(ref, state):
            return []
        target = qn(*rv_parts(node.relation))
        select = node.selectStmt
        if node.onConflictClause is not None or select is None or not select.valuesLists:
            raise unsupported(f'INSERT into {target} other than plain VALUES: the rows it added cannot be '
                              'told from the others; write a -- migrate:down section')
        desc = self.need(state.before(ref), f'the key of {target}')
        if desc is None:
            raise unsupported(f'{target} is not in the snapshot')
        columns = [c.name for c in node.cols] if node.cols else [c['name'] for c in desc['columns']]
        keys = [con['columns'] for con in desc.get('constraints', {}).values()
                if con['type'] in ('p', 'u') and set(con['columns']) <= set(columns)]
        if not keys:
            raise unsupported(f'INSERT into {target}: no primary key or unique key among the inserted columns '
                              'identifies the rows; write a -- migrate:down section')
        key = sorted(keys, key=len)[0]
        rows = []
        for values in select.valuesLists:
            by_column = dict(zip(columns, values, strict=False))
            parts = []
            for column in key:
                value = by_column[column]
                if not is_constant(value):
                    raise unsupported(f'INSERT into {target}: {column} is not a constant')
                parts.append(deparse(value))
            rows.append('(' + ', '.join(parts) + ')')
        key_sql = '(' + ', '.join(qi(c) for c in key) + ')'
        return [f"DELETE FROM {target} WHERE {key_sql} IN ({', '.join(rows)})"]

    # --- statements with nothing to undo ---

    def nothing(self, stmt, node, state):
        return []

    reverse_SelectStmt = reverse_LockStmt = reverse_NotifyStmt = reverse_VacuumStmt = nothing
    reverse_ClusterStmt = reverse_ReindexStmt = reverse_RefreshMatViewStmt = reverse_CheckPointStmt = nothing
    reverse_ExplainStmt = reverse_ListenStmt = reverse_UnlistenStmt = reverse_DiscardStmt = nothing


def is_constant(node):
    if isinstance(node, ast.A_Const):
        return True
    if isinstance(node, ast.TypeCast):
        return is_constant(node.arg)
    return False
