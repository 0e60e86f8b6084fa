# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MySQL/MariaDB catalogs as migration snapshots describe them.

Tables are described by SHOW CREATE TABLE (the server's own normalised text), cut
into its elements with sqlglot's tokenizer: one per column, index, primary key,
foreign key and check, plus the table options without the AUTO_INCREMENT counter
(data, not schema). Views, triggers and routines by their definitions.
"""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.catalog import Catalog
from ansible_collections.bundle.stack.plugins.module_utils.migrate.mysql.reverse import (
    TokenType,
    make_key,
    qi,
    qn,
    split_key,
    tokenize,
)


def parse_create_table(text):
    """{'elements': {kind:name: text}, 'columns': {...}, 'options': text, 'create': text} of SHOW CREATE TABLE."""
    tokens = tokenize(text)
    open_at = next(i for i, t in enumerate(tokens) if t.token_type == TokenType.L_PAREN)
    depth, parts, start, close_at = 0, [], open_at + 1, None
    for i in range(open_at, len(tokens)):
        kind = tokens[i].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                parts.append(tokens[start:i])
                close_at = i
                break
        elif kind == TokenType.COMMA and depth == 1:
            parts.append(tokens[start:i])
            start = i + 1
    elements, columns, keys = {}, {}, []
    for part in parts:
        piece = text[part[0].start:part[-1].end + 1]
        first = part[0].text.upper()
        if part[0].token_type in (TokenType.IDENTIFIER, TokenType.VAR) and first.split()[0] not in (
                'KEY', 'INDEX', 'UNIQUE', 'PRIMARY', 'CONSTRAINT', 'FULLTEXT', 'SPATIAL'):
            name = part[0].text
            definition = text[part[1].start:part[-1].end + 1]
            default = default_of(text, part)
            default = None if default is None or default.upper() == 'NULL' else default
            elements[f'column:{name}'] = piece
            columns[name] = dict(definition=definition, type=column_type(text, part), default=default,
                                 default_sql=default)
        elif first.startswith('PRIMARY'):
            elements['primary:PRIMARY'] = piece
            keys.insert(0, key_columns(part))
        elif first == 'CONSTRAINT':
            name = part[1].text
            kind = 'fk' if any(t.text.upper().startswith('FOREIGN') for t in part) else 'check'
            elements[f'{kind}:{name}'] = piece
        else:
            name_token = next(t for t in part[1:] if t.token_type not in (TokenType.L_PAREN,)
                              and t.text.upper() not in ('KEY', 'INDEX'))
            elements[f'index:{name_token.text}'] = piece
            if first == 'UNIQUE':
                keys.append(key_columns(part))
    # The table options as the server wrote them, without the AUTO_INCREMENT counter.
    tail = text[tokens[close_at].end + 1:]
    for i in range(close_at + 1, len(tokens) - 2):
        if tokens[i].text.upper() == 'AUTO_INCREMENT' and tokens[i + 1].token_type == TokenType.EQ:
            tail = text[tokens[close_at].end + 1:tokens[i].start] + text[tokens[i + 2].end + 1:]
            break
    options = ' '.join(tail.split())
    # No CREATE TABLE text: SHOW CREATE TABLE lists keys in an order a rollback may not
    # reproduce, so the elements (and the column order) are what is compared.
    return dict(elements=elements, columns=columns, column_order=list(columns), keys=keys, options=options)


def column_type(text, part):
    """'varchar(50)', 'int(10) unsigned': the type tokens right after the name."""
    end = 1
    depth = 0
    for i in range(1, len(part)):
        token = part[i]
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and i > 1 and token.text.upper() not in ('UNSIGNED', 'ZEROFILL'):
            break
        end = i
    return text[part[1].start:part[end].end + 1]


def default_of(text, part):
    """The DEFAULT clause's value as SQL text, or None."""
    for i, token in enumerate(part):
        if token.text.upper() == 'DEFAULT' and i + 1 < len(part):
            j = i + 1
            if part[j].token_type == TokenType.DASH and j + 1 < len(part):
                return text[part[j].start:part[j + 1].end + 1]
            if j + 1 < len(part) and part[j + 1].token_type == TokenType.L_PAREN or \
                    part[j].token_type == TokenType.L_PAREN:
                depth, k = 0, j
                while k < len(part):
                    if part[k].token_type == TokenType.L_PAREN:
                        depth += 1
                    elif part[k].token_type == TokenType.R_PAREN:
                        depth -= 1
                        if depth == 0:
                            break
                    k += 1
                return text[part[j].start:part[min(k, len(part) - 1)].end + 1]
            return text[part[j].start:part[j].end + 1]
    return None


def key_columns(part):
    inside, columns, depth = False, [], 0
    for token in part:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            inside = depth == 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                break
        elif inside and depth == 1 and token.token_type != TokenType.COMMA:
            columns.append(token.text)
    return columns


def strip_definer(text):
    """CREATE DEFINER=`u`@`h` PROCEDURE ... without the DEFINER clause (token by token)."""
    tokens = tokenize(text)
    for i, token in enumerate(tokens):
        if token.text.upper() == 'DEFINER' and i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.EQ:
            j = i + 2
            end = tokens[j].end
            if j + 2 < len(tokens) and tokens[j + 1].text == '@':
                end = tokens[j + 2].end
            elif j + 1 < len(tokens) and tokens[j + 1].text.startswith('@'):
                end = tokens[j + 1].end
            return (text[:token.start] + text[end + 1:]).replace('  ', ' ')
    return text


class MysqlCatalog(Catalog):
    """Describes schema objects of one database (exclude: table names)."""

    def __init__(self, cursor, database, exclude=()):
        super().__init__(cursor, exclude)
        self.database = database

    def resolve(self, ref):
        database = ref.parts[0] if len(ref.parts) > 1 and ref.parts[0] else self.database
        key = make_key(ref.kind, database, ref.name)
        return [key, ref.args]

    def describe(self, keys):
        found = {}
        for key in keys:
            kind = key.split(':', 1)[0]
            database, name = split_key(key)
            if kind == 'table':
                found[key] = self.table(database, name)
            elif kind == 'view':
                found[key] = self.view(database, name)
            elif kind == 'trigger':
                found[key] = self.trigger(database, name)
            elif kind == 'routine':
                found[key] = self.routine(database, name)
            elif kind == 'db':
                found[key] = self.db(name)
        return found

    def describe_all(self):
        found = {}
        for row in self.rows('SELECT table_name AS name, table_type AS type FROM information_schema.tables '
                             'WHERE table_schema = %s', (self.database,)):
            if row['name'] in self.exclude:
                continue
            if row['type'] == 'VIEW':
                found[make_key('view', self.database, row['name'])] = self.view(self.database, row['name'])
            else:
                found[make_key('table', self.database, row['name'])] = self.table(self.database, row['name'])
        for row in self.rows('SELECT trigger_name AS name FROM information_schema.triggers '
                             'WHERE trigger_schema = %s', (self.database,)):
            found[make_key('trigger', self.database, row['name'])] = self.trigger(self.database, row['name'])
        for row in self.rows('SELECT routine_name AS name FROM information_schema.routines '
                             'WHERE routine_schema = %s', (self.database,)):
            found[make_key('routine', self.database, row['name'])] = self.routine(self.database, row['name'])
        return found

    def table(self, database, name):
        rows = self.rows('SELECT table_type, engine, table_comment FROM information_schema.tables '
                         'WHERE table_schema = %s AND table_name = %s', (database, name))
        if not rows or rows[0]['table_type'] == 'VIEW':
            return None
        create = self.rows(f'SHOW CREATE TABLE {qn(database, name)}')[0]['create table']
        desc = parse_create_table(create)
        desc.update(kind='table', name=name, engine=rows[0]['engine'], comment=rows[0]['table_comment'])
        return desc

    def view(self, database, name):
        rows = self.rows('SELECT view_definition AS definition, check_option, security_type AS security '
                         'FROM information_schema.views WHERE table_schema = %s AND table_name = %s', (database, name))
        return dict(rows[0], kind='view', name=name) if rows else None

    def trigger(self, database, name):
        rows = self.rows('SELECT event_object_table AS tbl, action_timing AS timing, event_manipulation AS event, '
                         'action_statement AS body, action_orientation AS orientation FROM information_schema.triggers '
                         'WHERE trigger_schema = %s AND trigger_name = %s', (database, name))
        if not rows:
            return None
        row = rows[0]
        return dict(row, kind='trigger', name=name,
                    create=f"CREATE TRIGGER {qi(name)} {row['timing']} {row['event']} ON {qi(row['tbl'])} "
                           f"FOR EACH {row['orientation']} {row['body']}")

    def routine(self, database, name):
        rows = self.rows('SELECT routine_type AS type FROM information_schema.routines '
                         'WHERE routine_schema = %s AND routine_name = %s', (database, name))
        if not rows:
            return None
        kind = rows[0]['type']
        create = self.rows(f'SHOW CREATE {kind} {qn(database, name)}')[0]
        text = create.get(f'create {kind.lower()}') or ''
        return dict(kind=kind.lower(), name=name, create=strip_definer(text))

    def db(self, name):
        rows = self.rows('SELECT default_character_set_name AS charset, default_collation_name AS collation '
                         'FROM information_schema.schemata WHERE schema_name = %s', (name,))
        return rows[0] if rows else None
