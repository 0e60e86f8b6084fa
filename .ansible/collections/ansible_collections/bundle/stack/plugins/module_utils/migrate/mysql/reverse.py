# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse SQL for MySQL/MariaDB migrations, generated from sqlglot's parser.

Statements are split with sqlglot's MySQL tokenizer (a BEGIN ... END body of
a routine or trigger stays in one piece) and parsed with its MySQL grammar.
The few statements sqlglot leaves unparsed (GRANT, REVOKE, RENAME TABLE) are
read token by token with the same tokenizer, never with regular expressions.
Old definitions come from the snapshot schema_migrate recorded: for a table
the elements of SHOW CREATE TABLE (one per column, index, foreign key and
check) and its options; for views, triggers and routines their definitions.

Same entry points as the PostgreSQL generator (the shared parts are in
migrate/reverse.py): split_statements, refs_of, reverse_migration -> ReversePlan
with findings of kind 'irreversible', 'unsupported' or 'forced'.
"""

from __future__ import annotations

import logging

from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import (
    UNKNOWN,
    Ref,
    Statement,
    existed,
    reverse_statements,
    unique_refs,
    unsupported,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import Reverser as BaseReverser

try:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError
    from sqlglot.tokens import TokenType
except ImportError:
    sqlglot = exp = TokenType = None
    ParseError = TokenError = Exception
    HAS_SQLGLOT = False
else:
    HAS_SQLGLOT = True
    # sqlglot logs a warning for every statement it keeps as an opaque Command.
    logging.getLogger('sqlglot').setLevel(logging.ERROR)

DIALECT = 'mysql'
# Integer types by width, for narrowing checks.
_INT_ORDER = ['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']
_TEXT_ORDER = ['tinytext', 'text', 'mediumtext', 'longtext']
_BLOCK_INNER_END = {'IF', 'LOOP', 'WHILE', 'REPEAT', 'CASE'}


def qi(name):
    return '`' + name.replace('`', '``') + '`'


def qn(*parts):
    return '.'.join(qi(p) for p in parts if p)


def literal(value):
    if value is None:
        return 'NULL'
    return "'" + str(value).replace('\\', '\\\\').replace("'", "''") + "'"


def make_key(kind, database, name):
    return f'{kind}:{database}.{name}' if database else f'{kind}:{name}'


def split_key(key):
    body = key.split(':', 1)[1]
    database, _, name = body.rpartition('.')
    return database or None, name


# --- splitting ----------------------------------------------------------------------

def tokenize(sql):
    return sqlglot.tokenize(sql, read=DIALECT)


def split_statements(sql):
    """Statements of sql with their sqlglot trees; transaction control left out."""
    tokens = tokenize(sql)
    statements, start, depth, compound = [], None, 0, False
    for i, token in enumerate(tokens):
        if start is None:
            start = i
            depth = 0
            compound = False
        kind = token.token_type
        text = token.text.upper()
        if i == start + 0 and text == 'CREATE':
            following = {t.text.upper() for t in tokens[i:i + 8]}
            compound = bool(following & {'PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT'})
        opens_block = not (i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.SEMICOLON)
        if compound and text == 'BEGIN' and opens_block:
            depth += 1
        elif compound and text == 'END' and depth and not (
                i + 1 < len(tokens) and tokens[i + 1].text.upper() in _BLOCK_INNER_END):
            depth -= 1
        if kind == TokenType.SEMICOLON and depth == 0:
            add_statement(statements, sql, tokens[start:i])
            start = None
    if start is not None:
        add_statement(statements, sql, tokens[start:])
    return statements


def add_statement(statements, sql, tokens):
    if not tokens:
        return
    text = sql[tokens[0].start:tokens[-1].end + 1].strip()
    first = tokens[0].text.upper()
    second = tokens[1].text.upper() if len(tokens) > 1 else ''
    if (first in ('COMMIT', 'ROLLBACK') or (first == 'START' and second == 'TRANSACTION')
            or (first == 'BEGIN' and len(tokens) == 1)):
        return
    if first == 'CREATE' and routine_head(tokens) is not None:
        # Routines, triggers and events: sqlglot does not parse every procedural
        # body, and only the head (kind and name) matters for the reverse.
        node = exp.Command(this='CREATE', expression=exp.Literal.string(text[tokens[1].start - tokens[0].start:]))
    else:
        try:
            node = sqlglot.parse_one(text, read=DIALECT)
        except (ParseError, TokenError) as exc:
            raise ValueError(f'cannot parse `{text[:120]}`: {exc}') from exc
    statements.append(Statement(len(statements), text, node))


def routine_head(tokens):
    """(kind, (database, name)) of CREATE [OR REPLACE] [DEFINER=...] PROCEDURE|FUNCTION|TRIGGER|EVENT name."""
    for i, token in enumerate(tokens[:12]):
        word = token.text.upper()
        if word in ('PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT') and i + 1 < len(tokens):
            return word, dotted(tokens, i + 1)[0]
    return None


def non_transactional(node):
    return None  # MySQL has no transactional DDL at all; nothing is special.


# --- names and refs ------------------------------------------------------------------

def table_parts(table):
    """(database or None, name) of a sqlglot Table."""
    return (table.db or None, table.name)


def table_of(node):
    table = node.this
    if isinstance(table, exp.Schema):
        table = table.this
    return table


def refs_of(node):
    refs = []
    if isinstance(node, exp.Create):
        kind = (node.args.get('kind') or '').upper()
        if kind in ('TABLE', 'VIEW'):
            refs.append(Ref('table' if kind == 'TABLE' else 'view', table_parts(table_of(node))))
        elif kind == 'INDEX':
            index = node.this
            refs.append(Ref('table', table_parts(index.args['table'])))
        elif kind in ('PROCEDURE', 'FUNCTION'):
            refs.append(Ref('routine', table_parts(node.this.this), kind))
        elif kind in ('DATABASE', 'SCHEMA'):
            refs.append(Ref('db', (node.this.name,)))
    elif isinstance(node, exp.Alter):
        refs.append(Ref('table', table_parts(node.this)))
        for action in node.args.get('actions') or []:
            if isinstance(action, exp.AlterRename):
                refs.append(Ref('table', table_parts(action.this)))
    elif isinstance(node, exp.Drop):
        kind = (node.args.get('kind') or '').upper()
        for table in node.args.get('tables') or []:
            if kind == 'INDEX':
                on = node.args.get('cluster')
                if on is not None:
                    refs.append(Ref('table', table_parts(on.this)))
            elif kind in ('TABLE', 'VIEW'):
                refs.append(Ref(kind.lower(), table_parts(table)))
            elif kind == 'TRIGGER':
                refs.append(Ref('trigger', table_parts(table)))
            elif kind in ('PROCEDURE', 'FUNCTION'):
                refs.append(Ref('routine', table_parts(table), kind))
    elif isinstance(node, (exp.Insert, exp.Update, exp.Delete)):
        target = node.this
        if isinstance(target, exp.Schema):
            target = target.this
        if isinstance(target, exp.Table):
            refs.append(Ref('table', table_parts(target)))
    elif isinstance(node, exp.TruncateTable):
        refs.extend(Ref('table', table_parts(t)) for t in node.expressions)
    elif isinstance(node, exp.Command):
        command = node.this.upper()
        words = command_tokens(node)
        if command == 'RENAME':
            for old, new in rename_pairs(words):
                refs.append(Ref('table', old))
                refs.append(Ref('table', new))
        elif command == 'CREATE' and routine_head(words):
            kind, name = routine_head(words)
            if kind == 'TRIGGER':
                refs.append(Ref('trigger', name))
                on = next((i for i, t in enumerate(words) if t.text.upper() == 'ON'), None)
                if on is not None:
                    refs.append(Ref('table', dotted(words, on + 1)[0]))
            elif kind in ('PROCEDURE', 'FUNCTION'):
                refs.append(Ref('routine', name, kind))
    return unique_refs(refs)


def command_text(node):
    """The text sqlglot kept unparsed after a Command's first word."""
    rest = node.expression
    return rest.this if isinstance(rest, exp.Literal) else (rest if isinstance(rest, str) else '')


def command_tokens(node):
    text = command_text(node)
    return tokenize(text) if text else []


def dotted(tokens, i):
    """((database, name), next index) of a possibly qualified name at tokens[i]."""
    first = tokens[i].text
    if i + 2 < len(tokens) and tokens[i + 1].token_type == TokenType.DOT:
        return (first, tokens[i + 2].text), i + 3
    return (None, first), i + 1


def rename_pairs(tokens):
    """[(old, new)] of RENAME TABLE a TO b, c TO d (tokens after RENAME)."""
    pairs, i = [], 1  # tokens[0] is TABLE
    while i < len(tokens):
        old, i = dotted(tokens, i)
        if i >= len(tokens) or tokens[i].text.upper() != 'TO':
            raise unsupported('cannot read RENAME TABLE')
        new, i = dotted(tokens, i + 1)
        pairs.append((old, new))
        if i < len(tokens) and tokens[i].token_type == TokenType.COMMA:
            i += 1
    return pairs


# --- type changes --------------------------------------------------------------------

def parse_column_type(text):
    """(base, params, unsigned) of a MySQL column type such as 'varchar(50)' or 'int(10) unsigned'."""
    tokens = tokenize(text)
    base = tokens[0].text.lower() if tokens else ''
    params, unsigned = [], False
    for token in tokens[1:]:
        if token.token_type == TokenType.NUMBER:
            params.append(int(token.text))
        elif token.text.upper() == 'UNSIGNED':
            unsigned = True
    return base, params, unsigned


def is_widening(old, new):
    if old.lower() == new.lower():
        return True
    (ob, op, ou), (nb, np_, nu) = parse_column_type(old), parse_column_type(new)
    if ob in _INT_ORDER and nb in _INT_ORDER:
        oi, ni = _INT_ORDER.index(ob.replace('integer', 'int')), _INT_ORDER.index(nb.replace('integer', 'int'))
        if ou == nu:
            return ni >= oi
        return nu is False and ni > oi  # unsigned fits a wider signed type
    if ob in ('varchar', 'char') and nb in ('varchar', 'char'):
        return nb == 'varchar' and (not np_ or (op and np_[0] >= op[0]))
    if ob in ('varchar', 'char', *_TEXT_ORDER) and nb in _TEXT_ORDER:
        return ob not in _TEXT_ORDER or _TEXT_ORDER.index(nb) >= _TEXT_ORDER.index(ob)
    if ob == 'decimal' and nb == 'decimal':
        oscale = op[1] if len(op) > 1 else 0
        nscale = np_[1] if len(np_) > 1 else 0
        oprec = op[0] if op else 10
        nprec = np_[0] if np_ else 10
        return nscale >= oscale and nprec - nscale >= oprec - oscale
    if ob == 'float' and nb == 'double':
        return True
    if ob in ('date', 'datetime') and nb == 'datetime':
        return ob == 'date' or (np_[0] if np_ else 0) >= (op[0] if op else 0)
    return False


# --- restoring from the snapshot -----------------------------------------------------------

def element(desc, kind, name):
    if not existed(desc):
        return UNKNOWN
    return desc.get('elements', {}).get(f'{kind}:{name}')


def restore_element(table, kind, name, text):
    if kind == 'column':
        return f'ALTER TABLE {table} ADD COLUMN {text}'
    return f'ALTER TABLE {table} ADD {text}'


class Reverser(BaseReverser):
    """Reverses the statements of one MySQL/MariaDB migration, last first."""

    def ref_id(self, ref, state):
        return state.key(ref) or str(ref)

    # A SET is replayed before the reverses of the statements it governed; MySQL has
    # no RESET of one variable, so every SET in force is replayed, in order.
    def setting(self, stmt, settings):
        if not isinstance(stmt.node, exp.Set):
            return False
        settings[stmt.node.sql(dialect=DIALECT)] = stmt.sql
        return True

    def settings_sql(self, emitted, wanted):
        return list(wanted.values())

    def settings_end_sql(self, emitted):
        return []

    def track(self, stmt, state):
        node = stmt.node
        if isinstance(node, exp.Create) and (node.args.get('kind') or '').upper() == 'TABLE':
            self.created.add(self.ref_id(Ref('table', table_parts(table_of(node))), state))
        elif isinstance(node, exp.Alter):
            ref = Ref('table', table_parts(node.this))
            for action in node.args.get('actions') or []:
                if isinstance(action, exp.ColumnDef):
                    self.added_columns.setdefault(self.ref_id(ref, state), set()).add(action.name)

    def reverse(self, stmt, state):
        node = stmt.node
        if isinstance(node, exp.Create):
            return self.reverse_create(stmt, node, state)
        if isinstance(node, exp.Alter):
            return self.reverse_alter(stmt, node, state)
        if isinstance(node, exp.Drop):
            return self.reverse_drop(stmt, node, state)
        if isinstance(node, exp.TruncateTable):
            refs = [Ref('table', table_parts(t)) for t in node.expressions]
            if all(self.ref_id(r, state) in self.created for r in refs):
                return []
            return self.destroys(stmt, f"empties {', '.join(qn(*r.parts) for r in refs)}: the rows are gone")
        if isinstance(node, exp.Delete):
            ref = refs_of(node)[0]
            if self.ref_id(ref, state) in self.created:
                return []
            return self.destroys(stmt, f'deletes rows of {qn(*ref.parts)}')
        if isinstance(node, exp.Update):
            ref = refs_of(node)[0]
            targets = {e.this.name for e in node.expressions if isinstance(e, exp.EQ)}
            if self.ref_id(ref, state) in self.created or targets <= self.added_columns.get(self.ref_id(ref, state),
                                                                                            set()):
                return []
            return self.destroys(stmt, f"overwrites {', '.join(sorted(targets))} of {qn(*ref.parts)}: the old "
                                       'values are gone')
        if isinstance(node, exp.Insert):
            return self.reverse_insert(stmt, node, state)
        if isinstance(node, exp.Select):
            return []
        if isinstance(node, exp.Command):
            return self.reverse_command(stmt, node, state)
        raise unsupported(f'no reverse rule for {type(node).__name__} statements; write a -- migrate:down section')

    # --- CREATE ---

    def reverse_create(self, stmt, node, state):
        kind = (node.args.get('kind') or '').upper()
        exists_clause = bool(node.args.get('exists'))
        if kind == 'TABLE':
            ref = Ref('table', table_parts(table_of(node)))
            if exists_clause and existed(state.before(ref)):
                return []
            return [f'DROP TABLE {qn(*ref.parts)}']
        if kind == 'VIEW':
            ref = Ref('view', table_parts(table_of(node)))
            before = state.before(ref)
            if node.args.get('replace') and existed(before):
                return [f"CREATE OR REPLACE SQL SECURITY {before['security']} VIEW {qn(*ref.parts)} AS "
                        f"{before['definition']}" + check_option(before)]
            if node.args.get('replace') and before is UNKNOWN:
                raise unsupported(f'CREATE OR REPLACE VIEW {qn(*ref.parts)}: the snapshot does not say '
                                  'whether it existed')
            return [f'DROP VIEW {qn(*ref.parts)}']
        if kind == 'INDEX':
            index = node.this
            table = qn(*table_parts(index.args['table']))
            return [f'DROP INDEX {qi(index.name)} ON {table}']
        if kind in ('PROCEDURE', 'FUNCTION'):
            return [f'DROP {kind} {qn(*table_parts(node.this.this))}']
        if kind in ('DATABASE', 'SCHEMA'):
            if exists_clause and existed(state.before(Ref('db', (node.this.name,)))):
                return []
            return [f'DROP DATABASE {qi(node.this.name)}']
        raise unsupported(f'no reverse rule for CREATE {kind}')

    # --- ALTER TABLE ---

    def reverse_alter(self, stmt, node, state):
        ref = Ref('table', table_parts(node.this))
        table = qn(*ref.parts)
        before, after = state.before(ref), state.after(ref)
        created = self.ref_id(ref, state) in self.created
        statements = []
        for option in reversed(node.args.get('options') or []):
            statements.extend(self.reverse_option(option, table, before))
        for action in reversed(node.args.get('actions') or []):
            statements.extend(self.reverse_action(stmt, action, table, ref, state, before, after, created))
        return statements

    def reverse_option(self, option, table, before):
        name = type(option).__name__
        if isinstance(option, exp.SchemaCommentProperty):
            desc = self.need(before, f'the comment of {table}')
            return [f"ALTER TABLE {table} COMMENT = {literal(desc.get('comment') or '')}"]
        if isinstance(option, exp.EngineProperty):
            desc = self.need(before, f'the engine of {table}')
            return [f"ALTER TABLE {table} ENGINE = {desc['engine']}"]
        raise unsupported(f'no reverse rule for table option {name}')

    def reverse_action(self, stmt, action, table, ref, state, before, after, created):
        if isinstance(action, exp.ColumnDef):
            if action.args.get('exists') and existed(element(before, 'column', action.name)):
                return []
            return [f'ALTER TABLE {table} DROP COLUMN {qi(action.name)}']
        if isinstance(action, exp.ModifyColumn):
            column = action.this
            old_name = action.args.get('rename_from')
            old_name = old_name.name if old_name is not None else column.name
            before = self.need(before, f'column {old_name} of {table} before the statement')
            after = self.need(after, f'column {column.name} of {table} after the statement')
            old = (before or {}).get('columns', {}).get(old_name)
            new = (after or {}).get('columns', {}).get(column.name)
            if old is None or new is None:
                raise unsupported(f'column {old_name} of {table} is not in the snapshot')
            old_type, new_type, definition = old['type'], new['type'], old['definition']
            if old_name != column.name:
                restore = [f'ALTER TABLE {table} CHANGE COLUMN {qi(column.name)} {qi(old_name)} {definition}']
            else:
                restore = [f'ALTER TABLE {table} MODIFY COLUMN {qi(old_name)} {definition}']
            if created or is_widening(old_type, new_type):
                return restore
            return self.destroys(stmt, f'changes column {qi(old_name)} of {table} from {old_type} to {new_type} '
                                       '(narrowing): values may have been cut or rounded', restore)
        if isinstance(action, exp.RenameColumn):
            return [f'ALTER TABLE {table} RENAME COLUMN {qi(action.args["to"].name)} TO {qi(action.this.name)}']
        if isinstance(action, exp.RenameIndex):
            return [f'ALTER TABLE {table} RENAME INDEX {qi(action.args["to"].name)} TO {qi(action.this.name)}']
        if isinstance(action, exp.AlterRename):
            return [f'RENAME TABLE {qn(*table_parts(action.this))} TO {table}']
        if isinstance(action, exp.AlterColumn):
            name = action.this.name
            desc = self.need(before, f'column {name} of {table}')
            column = desc['columns'].get(name) if desc else None
            if column is None:
                raise unsupported(f'column {name} of {table} is not in the snapshot')
            if column.get('default') is None:
                return [f'ALTER TABLE {table} ALTER COLUMN {qi(name)} DROP DEFAULT']
            return [f"ALTER TABLE {table} ALTER COLUMN {qi(name)} SET DEFAULT {column['default_sql']}"]
        if isinstance(action, exp.AddConstraint):
            return self.reverse_add_constraint(action, table, before, after)
        if isinstance(action, exp.DropPrimaryKey):
            text = self.need(element(before, 'primary', 'PRIMARY'), f'the primary key of {table}')
            return [restore_element(table, 'primary', 'PRIMARY', text)] if text else []
        if isinstance(action, exp.Drop):
            return self.reverse_drop_part(stmt, action, table, before, after, created)
        raise unsupported(f'no reverse rule for ALTER TABLE ... {type(action).__name__}')

    def reverse_add_constraint(self, action, table, before, after):
        b = self.need(before, f'the indexes of {table} before the statement')
        a = self.need(after, f'the indexes of {table} after the statement')
        added = sorted(set(a.get('elements', {})) - set(b.get('elements', {})))
        statements = []
        for key in added:
            kind, name = key.split(':', 1)
            if kind == 'fk':
                statements.insert(0, f'ALTER TABLE {table} DROP FOREIGN KEY {qi(name)}')
            elif kind == 'index':
                statements.append(f'ALTER TABLE {table} DROP INDEX {qi(name)}')
            elif kind == 'primary':
                statements.append(f'ALTER TABLE {table} DROP PRIMARY KEY')
            elif kind == 'check':
                statements.append(f'ALTER TABLE {table} DROP CONSTRAINT {qi(name)}')
        if not statements:
            raise unsupported(f'cannot find what the statement added to {table}')
        return statements

    def reverse_drop_part(self, stmt, action, table, before, after, created):
        kind = (action.args.get('kind') or 'COLUMN').upper()
        names = [t.name for t in action.args.get('tables') or []] or ([action.this.name] if action.this else [])
        statements = []
        for name in names:
            if kind == 'COLUMN':
                if created:
                    continue
                text = element(before, 'column', name)
                restore = [restore_element(table, 'column', name, text)] if existed(text) else []
                statements += self.destroys(stmt, f'drops column {qi(name)} of {table} and every value in it', restore)
                continue
            element_kind = {'INDEX': 'index', 'KEY': 'index', 'FOREIGN KEY': 'fk', 'CHECK': 'check',
                            'CONSTRAINT': None}.get(kind)
            desc = self.need(before, f'{kind.lower()} {name} of {table}')
            kinds = [element_kind] if element_kind else ['fk', 'check', 'index']
            text = next((desc.get('elements', {}).get(f'{k}:{name}') for k in kinds
                         if f'{k}:{name}' in desc.get('elements', {})), None)
            if text is None:
                if action.args.get('exists'):
                    continue
                raise unsupported(f'{kind.lower()} {name} of {table} is not in the snapshot')
            statements.append(f'ALTER TABLE {table} ADD {text}')
        return statements

    # --- DROP ---

    def reverse_drop(self, stmt, node, state):
        kind = (node.args.get('kind') or '').upper()
        statements = []
        for target in reversed(node.args.get('tables') or []):
            parts = table_parts(target)
            if kind == 'TABLE':
                ref = Ref('table', parts)
                if self.ref_id(ref, state) in self.created:
                    continue
                before = state.before(ref)
                if node.args.get('exists') and before is None:
                    continue
                restore = [create_table_sql(parts, before)] if existed(before) else []
                statements += self.destroys(stmt, f'drops table {qn(*parts)} and every row in it', restore)
            elif kind == 'VIEW':
                before = self.need(state.before(Ref('view', parts)), f'view {qn(*parts)}')
                if before is None:
                    continue
                statements.append(f"CREATE SQL SECURITY {before['security']} VIEW {qn(*parts)} AS "
                                  f"{before['definition']}" + check_option(before))
            elif kind == 'INDEX':
                on = node.args.get('cluster')
                table_ref = Ref('table', table_parts(on.this))
                desc = self.need(state.before(table_ref), f'index {target.name}')
                text = (desc or {}).get('elements', {}).get(f'index:{target.name}')
                if text is None:
                    raise unsupported(f'index {target.name} is not in the snapshot')
                statements.append(f'ALTER TABLE {qn(*table_ref.parts)} ADD {text}')
            elif kind == 'TRIGGER':
                before = self.need(state.before(Ref('trigger', parts)), f'trigger {qn(*parts)}')
                if before is None:
                    continue
                statements.append(before['create'])
            elif kind in ('PROCEDURE', 'FUNCTION'):
                before = self.need(state.before(Ref('routine', parts, kind)), f'{kind.lower()} {qn(*parts)}')
                if before is None:
                    continue
                statements.append(before['create'])
            elif kind in ('DATABASE', 'SCHEMA'):
                statements += self.destroys(stmt, f'drops database {target.name} and everything in it')
            else:
                raise unsupported(f'no reverse rule for DROP {kind}')
        return statements

    def reverse_insert(self, stmt, node, state):
        ref = refs_of(node)[0]
        if self.ref_id(ref, state) in self.created:
            return []
        values = node.expression
        if not isinstance(values, exp.Values) or node.args.get('conflict') or node.args.get('ignore'):
            raise unsupported(f'INSERT into {qn(*ref.parts)} other than plain VALUES: write a -- migrate:down section')
        desc = self.need(state.before(ref), f'the keys of {qn(*ref.parts)}')
        schema = node.this
        columns = [c.name for c in schema.expressions] if isinstance(schema, exp.Schema) else \
            list(desc.get('columns', {}))
        keys = [k for k in desc.get('keys', []) if set(k) <= set(columns)]
        if not keys:
            raise unsupported(f'INSERT into {qn(*ref.parts)}: no primary or unique key among the inserted columns')
        key = sorted(keys, key=len)[0]
        rows = []
        for row in values.expressions:
            by_column = dict(zip(columns, row.expressions, strict=False))
            for column in key:
                if not isinstance(by_column[column], (exp.Literal, exp.Null, exp.Neg)):
                    raise unsupported(f'INSERT into {qn(*ref.parts)}: {column} is not a constant')
            rows.append('(' + ', '.join(by_column[c].sql(dialect=DIALECT) for c in key) + ')')
        return [f"DELETE FROM {qn(*ref.parts)} WHERE ({', '.join(qi(c) for c in key)}) IN ({', '.join(rows)})"]

    # --- what sqlglot keeps as a Command ---

    def reverse_command(self, stmt, node, state):
        command = node.this.upper()
        tokens = command_tokens(node)
        rest = command_text(node)
        if command == 'RENAME':
            pairs = rename_pairs(tokens)
            back = ', '.join(f'{qn(*new)} TO {qn(*old)}' for old, new in reversed(pairs))
            return [f'RENAME TABLE {back}']
        if command in ('GRANT', 'REVOKE'):
            return [flip_grant(command, tokens, rest)]
        if command == 'CREATE' and routine_head(tokens):
            kind, name = routine_head(tokens)
            return [f'DROP {kind} {qn(*name)}']
        raise unsupported(f'no reverse rule for {command} statements; write a -- migrate:down section')


def create_table_sql(parts, desc):
    """CREATE TABLE from a snapshot: its columns in order, then its keys, then its options."""
    elements = desc['elements']
    body = [elements[f'column:{name}'] for name in desc['column_order']]
    body += [text for key, text in elements.items() if not key.startswith('column:')]
    return f"CREATE TABLE {qn(*parts)} (\n  " + ',\n  '.join(body) + f"\n) {desc.get('options', '')}".rstrip()


def check_option(view):
    option = view.get('check_option') or 'NONE'
    return '' if option == 'NONE' else f' WITH {option} CHECK OPTION'


def flip_grant(command, tokens, text):
    """GRANT privs ON obj TO users <-> REVOKE privs ON obj FROM users, read token by token."""
    depth, on, to = 0, None, None
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.text.upper() == 'ON' and on is None:
            on = i
        elif depth == 0 and token.text.upper() == ('TO' if command == 'GRANT' else 'FROM') and on is not None:
            to = i
            break
    if on is None or to is None:
        raise unsupported(f'cannot read this {command} (role grants are not reversed)')
    end = len(tokens)
    for i in range(to + 1, len(tokens)):
        if tokens[i].text.upper() in ('WITH', 'REQUIRE', 'IDENTIFIED'):
            end = i
            break
    privileges = text[tokens[0].start:tokens[on - 1].end + 1]
    target = text[tokens[on + 1].start:tokens[to - 1].end + 1]
    users = text[tokens[to + 1].start:tokens[end - 1].end + 1]
    if command == 'GRANT':
        return f'REVOKE {privileges} ON {target} FROM {users}'
    return f'GRANT {privileges} ON {target} TO {users}'


def reverse_migration(up_sql, snapshot=None, force=False):
    return reverse_statements(Reverser, split_statements(up_sql), snapshot, force)
