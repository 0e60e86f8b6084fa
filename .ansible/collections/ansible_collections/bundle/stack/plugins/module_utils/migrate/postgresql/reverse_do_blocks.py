# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse of a DO block: from the catalogs around it, after its PL/pgSQL was checked."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.restore import (
    REL_WORDS,
    acl_restore,
    column_sql,
    comment_sql,
    function_word,
    policy_sql,
    recreate_enum,
    restore_function,
    restore_relation,
    restore_schema,
    restore_table,
    restore_type,
    restore_view,
    strip_semicolon,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    ParseError,
    ast,
    literal,
    node_name,
    parse_plpgsql,
    parse_sql,
    qi,
    qn,
    strings,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.type_changes import (
    is_widening,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import (
    irreversible,
    unsupported,
)


class DoBlockReverses:
    """DO blocks, reversed from the snapshot of everything taken before and after them."""

    def reverse_DoStmt(self, stmt, node, state):
        check_do_block(node)
        if not state.data or not state.data.get('opaque'):
            raise unsupported('a DO block is reversed from the catalog snapshot taken around it, which is missing; '
                              'write a -- migrate:down section for this migration')
        return self.reverse_diff(stmt, state.data.get('before') or {}, state.data.get('after') or {})

    # --- reverse of what an opaque statement changed, from the catalogs before and after ---

    def reverse_diff(self, stmt, before, after):
        def kind_of(key):
            return key.split(':', 1)[0]

        created = sorted(k for k in after if after[k] is not None and before.get(k) is None)
        dropped = sorted(k for k in before if before[k] is not None and after.get(k) is None)
        changed = sorted(k for k in before if before[k] is not None and after.get(k) is not None
                         and before[k] != after[k])
        first, middle, last = [], [], []
        for key in created:
            desc = after[key]
            kind = kind_of(key)
            if kind == 'rel':
                word = REL_WORDS.get(desc['kind'], 'TABLE')
                target = qn(desc['schema'], desc['name'])
                if desc['kind'] in ('view', 'materialized view'):
                    first.append(f'DROP {word} {target}')
                elif desc['kind'] == 'sequence':
                    last.append(f'DROP SEQUENCE IF EXISTS {target}')
                else:
                    middle.append(f'DROP {word} {target}')
            elif kind == 'func':
                for args, overload in sorted(desc['overloads'].items()):
                    last.append(f"DROP {function_word(overload)} {qn(desc['schema'], desc['name'])}({args})")
            elif kind == 'type':
                word = 'DOMAIN' if desc['kind'] == 'domain' else 'TYPE'
                last.append(f"DROP {word} {qn(desc['schema'], desc['name'])}")
            elif kind == 'schema':
                last.append(f"DROP SCHEMA {qi(desc['name'])}")
            elif kind == 'ext':
                last.append(f"DROP EXTENSION {qi(desc['name'])}")
            else:
                raise unsupported(f'the DO block created {key}, which has no reverse rule')
        restore = []
        for key in dropped:
            desc = before[key]
            kind = kind_of(key)
            if kind == 'rel' and desc['kind'] in ('table', 'partitioned table', 'sequence', 'foreign table'):
                restore += self.destroys(stmt, f"drops {desc['kind']} {qn(desc['schema'], desc['name'])} and its "
                                               'data', restore_table(desc) if desc['kind'] != 'sequence' else [])
            elif kind == 'rel':
                restore += restore_relation(desc)
            elif kind == 'func':
                for args, overload in sorted(desc['overloads'].items()):
                    restore += restore_function(desc['schema'], desc['name'], args, overload)
            elif kind == 'type':
                restore += restore_type(desc)
            elif kind == 'schema':
                restore = restore_schema(desc['name'], desc) + restore
            elif kind == 'ext':
                restore = [f"CREATE EXTENSION {qi(desc['name'])} WITH SCHEMA {qi(desc['schema'])} "
                           f"VERSION {literal(desc['version'])}"] + restore
            else:
                raise unsupported(f'the DO block dropped {key}, which has no reverse rule')
        for key in changed:
            old, new = before[key], after[key]
            kind = kind_of(key)
            if kind == 'rel' and old['kind'] in ('table', 'partitioned table') and old['kind'] == new['kind']:
                middle = self.reverse_table_diff(stmt, old, new) + middle
            elif kind == 'rel' and old['kind'] in ('view', 'materialized view'):
                word = REL_WORDS[old['kind']]
                first.append(f"DROP {word} {qn(old['schema'], old['name'])}")
                restore += restore_view(old)
            elif kind == 'func':
                for args in sorted(set(new['overloads']) - set(old['overloads'])):
                    word = function_word(new['overloads'][args])
                    last.append(f"DROP {word} {qn(old['schema'], old['name'])}({args})")
                for args in sorted(set(old['overloads']) & set(new['overloads'])):
                    if old['overloads'][args] != new['overloads'][args]:
                        restore.append(f"DROP {function_word(new['overloads'][args])} "
                                       f"{qn(old['schema'], old['name'])}({args})")
                        restore += restore_function(old['schema'], old['name'], args, old['overloads'][args])
                for args in sorted(set(old['overloads']) - set(new['overloads'])):
                    restore += restore_function(old['schema'], old['name'], args, old['overloads'][args])
            elif kind == 'type' and old['kind'] == 'enum' and set(old['labels']) <= set(new.get('labels', [])):
                last += recreate_enum(old, before)
            elif kind == 'schema':
                if old.get('comment') != new.get('comment'):
                    restore.append(comment_sql('SCHEMA', qi(old['name']), old.get('comment')))
                if old.get('owner') != new.get('owner'):
                    restore.append(f"ALTER SCHEMA {qi(old['name'])} OWNER TO {qi(old['owner'])}")
                if old.get('acl') != new.get('acl'):
                    restore += acl_restore('SCHEMA', qi(old['name']), old['acl'], new['acl'])
            else:
                raise unsupported(f'the DO block changed {key} in a way that has no reverse rule')
        return first + middle + last + restore

    def reverse_table_diff(self, stmt, old, new):
        """Undo what changed on one table: its parts, its columns, its own attributes."""
        target = qn(old['schema'], old['name'])
        drops, columns, adds = [], [], []
        for group, drop, create in (
                ('triggers', lambda n: f'DROP TRIGGER {qi(n)} ON {target}', lambda n, d: [d['def']]),
                ('policies', lambda n: f'DROP POLICY {qi(n)} ON {target}', lambda n, d: [policy_sql(target, n, d)]),
                ('rules', lambda n: f'DROP RULE {qi(n)} ON {target}', lambda n, d: [strip_semicolon(d['def'])]),
                ('constraints', lambda n: f'ALTER TABLE {target} DROP CONSTRAINT {qi(n)}',
                 lambda n, d: [f"ALTER TABLE {target} ADD CONSTRAINT {qi(n)} {d['def']}"]),
                ('indexes', lambda n: f"DROP INDEX {qn(old['schema'], n)}", lambda n, d: [d['def']])):
            before, after = old.get(group, {}), new.get(group, {})
            for name in sorted(set(after) - set(before)):
                if group == 'indexes' and after[name].get('constraint'):
                    continue  # goes with its constraint
                drops.append(drop(name))
            for name in sorted(set(before) & set(after)):
                if before[name] != after[name] and not (group == 'indexes' and before[name].get('constraint')):
                    drops.append(drop(name))
                    adds += create(name, before[name])
            for name in sorted(set(before) - set(after)):
                if not (group == 'indexes' and before[name].get('constraint')):
                    adds += create(name, before[name])
        old_columns = {c['name']: c for c in old.get('columns', [])}
        new_columns = {c['name']: c for c in new.get('columns', [])}
        for name in [c['name'] for c in new.get('columns', []) if c['name'] not in old_columns]:
            columns.append(f'ALTER TABLE {target} DROP COLUMN {qi(name)}')
        for name, column in old_columns.items():
            if name not in new_columns:
                readd = f'ALTER TABLE {target} ADD COLUMN {column_sql(dict(column, not_null=False))}'
                columns += self.destroys(stmt, f'drops column {qi(name)} of {target} and every value in it', [readd])
                continue
            now = new_columns[name]
            if now['type'] != column['type']:
                if not is_widening(column['type'], now['type']):
                    columns += self.destroys(stmt, f"changes column {qi(name)} of {target} from {column['type']} "
                                                   f"to {now['type']} (narrowing): values may have been cut or "
                                                   'rounded', [])
                columns.append(f"ALTER TABLE {target} ALTER COLUMN {qi(name)} TYPE {column['type']} "
                               f"USING {qi(name)}::{column['type']}")
            if now.get('default') != column.get('default'):
                columns.append(f"ALTER TABLE {target} ALTER COLUMN {qi(name)} " + (
                    f"SET DEFAULT {column['default']}" if column.get('default') is not None else 'DROP DEFAULT'))
            if bool(now.get('not_null')) != bool(column.get('not_null')):
                columns.append(f"ALTER TABLE {target} ALTER COLUMN {qi(name)} "
                               f"{'SET' if column.get('not_null') else 'DROP'} NOT NULL")
            if now.get('comment') != column.get('comment'):
                columns.append(comment_sql('COLUMN', f'{target}.{qi(name)}', column.get('comment')))
            if now.get('identity') != column.get('identity') or now.get('generated') != column.get('generated'):
                raise unsupported(f'the DO block changed the identity or generation of {target}.{qi(name)}')
        own = []
        if new.get('comment') != old.get('comment'):
            own.append(comment_sql('TABLE', target, old.get('comment')))
        if new.get('owner') != old.get('owner'):
            own.append(f"ALTER TABLE {target} OWNER TO {qi(old['owner'])}")
        if new.get('acl') != old.get('acl'):
            own += acl_restore('TABLE', target, old.get('acl'), new.get('acl'))
        if new.get('row_security') != old.get('row_security'):
            own.append(f"ALTER TABLE {target} {'ENABLE' if old.get('row_security') else 'DISABLE'} ROW LEVEL SECURITY")
        for attribute in ('options', 'replica_identity', 'persistence', 'partition_bound', 'parents',
                          'force_row_security'):
            if new.get(attribute) != old.get(attribute):
                raise unsupported(f'the DO block changed the {attribute.replace("_", " ")} of {target}')
        return drops + columns + adds + own


DATA_STATEMENTS = {
    'DeleteStmt': 'deletes rows', 'UpdateStmt': 'overwrites values', 'TruncateStmt': 'empties tables',
    'InsertStmt': 'inserts rows', 'CopyStmt': 'copies rows in', 'MergeStmt': 'merges rows',
    'CallStmt': 'calls a procedure',
}


def check_do_block(node):
    """Refuse a DO block whose effect a catalog snapshot cannot show: data changes and SQL built at run time.

    The body is parsed with PostgreSQL's PL/pgSQL parser; every SQL statement in it (and
    every EXECUTE of a constant string) is parsed in turn. Schema changes are fine: the
    snapshot taken around the block shows them.
    """
    language = next((strings(a.arg)[0] for a in node.args if a.defname == 'language'), 'plpgsql')
    if language != 'plpgsql':
        raise unsupported(f'a DO block in {language}: only PL/pgSQL is read; write a -- migrate:down section')
    body = next(a.arg.sval for a in node.args if a.defname == 'as')
    try:
        tree = parse_plpgsql(f'CREATE FUNCTION bundle_do_block() RETURNS void LANGUAGE plpgsql AS $bundle$'
                             f'{body}$bundle$')
    except ParseError as exc:
        raise unsupported(f'the PL/pgSQL of the DO block does not parse ({exc}); write a -- migrate:down '
                          'section') from exc
    for kind, query in plpgsql_queries(tree):
        if kind == 'perform':
            raise unsupported('the DO block runs PERFORM, whose effect cannot be known; write a -- migrate:down '
                              'section')
        if kind == 'execute':
            value = parse_sql(f'SELECT {query}')[0].stmt.targetList[0].val
            if not (isinstance(value, ast.A_Const) and isinstance(value.val, ast.String)):
                raise unsupported(f'the DO block builds SQL at run time (EXECUTE {query[:80]}); write a '
                                  '-- migrate:down section')
            query = value.val.sval
        for raw in parse_sql(query):
            what = DATA_STATEMENTS.get(node_name(raw.stmt))
            if what is None and isinstance(raw.stmt, ast.SelectStmt) and raw.stmt.intoClause is not None:
                what = 'creates a table from a query'
            if what is not None:
                make = irreversible if node_name(raw.stmt) in ('DeleteStmt', 'UpdateStmt', 'TruncateStmt') \
                    else unsupported
                raise make(f'the DO block {what} ({query.strip()[:80]}), which the schema snapshot does not show')


def plpgsql_queries(tree):
    """(kind, query text) of every SQL statement, EXECUTE and PERFORM of a PL/pgSQL parse tree."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == 'PLpgSQL_stmt_execsql':
                    found.append(('sql', item['sqlstmt']['PLpgSQL_expr']['query']))
                elif key == 'PLpgSQL_stmt_dynexecute':
                    found.append(('execute', item['query']['PLpgSQL_expr']['query']))
                elif key == 'PLpgSQL_stmt_perform':
                    found.append(('perform', item['expr']['PLpgSQL_expr']['query']))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(tree)
    return found
