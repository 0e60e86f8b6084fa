# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse rules for renames, schemas, owners, comments, privileges, extensions and roles."""

from __future__ import annotations

import copy

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.refs import (
    grant_refs,
    object_refs,
    rename_refs,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    absent,
    ast,
    column_of,
    deparse,
    enums,
    literal,
    qi,
    qn,
    rv_ref,
    strings,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import (
    Ref,
    existed,
    unsupported,
)


class GrantMiscReverses:
    """Statements that rename, move, own, comment or grant, and the schema-level objects."""

    def reverse_CreateSchemaStmt(self, stmt, node, state):
        name = node.schemaname or (node.authrole.rolename if node.authrole else None)
        if name is None:
            raise unsupported('CREATE SCHEMA AUTHORIZATION CURRENT_USER names no schema')
        if node.if_not_exists and existed(state.before(Ref('schema', (name,)))):
            if node.schemaElts:
                raise unsupported(f'CREATE SCHEMA IF NOT EXISTS {qi(name)} with elements on an existing schema')
            return []
        # Everything inside was created by this very statement: CASCADE drops exactly that.
        return [f"DROP SCHEMA {qi(name)}{' CASCADE' if node.schemaElts else ''}"]

    def reverse_CreateExtensionStmt(self, stmt, node, state):
        if node.if_not_exists and existed(state.before(Ref('ext', (node.extname,)))):
            return []
        return [f'DROP EXTENSION {qi(node.extname)}']

    def reverse_AlterExtensionStmt(self, stmt, node, state):
        before = self.need(state.before(Ref('ext', (node.extname,))), f'extension {node.extname}')
        return [f"ALTER EXTENSION {qi(node.extname)} UPDATE TO {literal(before['version'])}"]

    def reverse_CreateStatsStmt(self, stmt, node, state):
        if not node.defnames:
            raise unsupported('CREATE STATISTICS without a name')
        parts = strings(node.defnames)
        if len(parts) == 1 and node.relations and isinstance(node.relations[0], ast.RangeVar):
            table = node.relations[0]
            schema = state.resolved(rv_ref(table))[0] if state.key(rv_ref(table)) else table.schemaname
            parts = (schema, parts[0]) if schema else parts
        return [f'DROP STATISTICS {qn(*parts)}']

    def reverse_CreateRoleStmt(self, stmt, node, state):
        if existed(state.before(Ref('role', (node.role,)))):
            return []
        return [f'DROP ROLE {qi(node.role)}']

    # --- renames, schemas, owners ---

    def reverse_RenameStmt(self, stmt, node, state):
        refs = rename_refs(node)
        if node.missing_ok and refs and absent(state.before(refs[0])):
            return []
        back = copy.deepcopy(node)
        back.missing_ok = False
        kind = enums.ObjectType(node.renameType).name
        if node.subname is not None:
            back.subname, back.newname = node.newname, node.subname
        elif node.relation is not None:
            back.relation.relname, back.newname = node.newname, node.relation.relname
        elif isinstance(node.object, ast.ObjectWithArgs):
            back.object.objname = tuple(node.object.objname[:-1]) + (ast.String(sval=node.newname),)
            back.newname = node.object.objname[-1].sval
        elif isinstance(node.object, tuple):
            back.object = tuple(node.object[:-1]) + (ast.String(sval=node.newname),)
            back.newname = node.object[-1].sval
        else:
            raise unsupported(f'no reverse rule for RENAME of {kind[7:].lower()}')
        return [deparse(back)]

    def reverse_AlterObjectSchemaStmt(self, stmt, node, state):
        if node.relation is not None:
            ref = rv_ref(node.relation)
            if node.missing_ok and absent(state.before(ref)):
                return []
            old_schema = node.relation.schemaname or (state.resolved(ref)[0] if state.key(ref) else None)
            if old_schema is None:
                raise unsupported('SET SCHEMA of an unqualified name needs the snapshot to know the old schema')
            back = copy.deepcopy(node)
            back.relation.schemaname = node.newschema
            back.newschema = old_schema
            return [deparse(back)]
        refs = object_refs(node.objectType, node.object)
        if not refs:
            raise unsupported('no reverse rule for this SET SCHEMA')
        old_schema = refs[0].schema or (state.resolved(refs[0])[0] if state.key(refs[0]) else None)
        if old_schema is None:
            raise unsupported('SET SCHEMA of an unqualified name needs the snapshot to know the old schema')
        back = copy.deepcopy(node)
        if isinstance(node.object, ast.ObjectWithArgs):
            back.object.objname = (ast.String(sval=node.newschema), node.object.objname[-1])
        else:
            back.object = (ast.String(sval=node.newschema), node.object[-1])
        back.newschema = old_schema
        return [deparse(back)]

    def reverse_AlterOwnerStmt(self, stmt, node, state):
        refs = [rv_ref(node.relation)] if node.relation is not None else object_refs(node.objectType, node.object)
        if not refs:
            raise unsupported('no reverse rule for this OWNER TO')
        before = self.need(state.before(refs[0]), f'the owner of {refs[0]}')
        owner = before.get('owner')
        if refs[0].kind == 'func':
            owner = before['overloads'][state.member(refs[0])]['owner']
        back = copy.deepcopy(node)
        back.newowner = ast.RoleSpec(roletype=enums.RoleSpecType.ROLESPEC_CSTRING, rolename=owner)
        return [deparse(back)]

    # --- comments and privileges ---

    def reverse_CommentStmt(self, stmt, node, state):
        objtype = enums.ObjectType(node.objtype).name
        refs = object_refs(node.objtype, node.object)
        if not refs:
            raise unsupported(f'no reverse rule for COMMENT ON {objtype[7:]}')
        before = self.need(state.before(refs[0]), f'the old comment of {refs[0]}')
        if before is None:
            raise unsupported(f'{refs[0]} is not in the snapshot')
        if objtype == 'OBJECT_COLUMN':
            column = column_of(before, strings(node.object)[-1])
            old = column.get('comment') if column else None
        elif objtype in ('OBJECT_TABCONSTRAINT', 'OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE'):
            group = {'OBJECT_TABCONSTRAINT': 'constraints', 'OBJECT_TRIGGER': 'triggers',
                     'OBJECT_POLICY': 'policies', 'OBJECT_RULE': 'rules'}[objtype]
            old = before.get(group, {}).get(strings(node.object)[-1], {}).get('comment')
        elif objtype == 'OBJECT_DOMCONSTRAINT':
            old = before.get('constraints', {}).get(node.object[-1].sval, {}).get('comment')
        elif refs[0].kind == 'func':
            old = before['overloads'].get(state.member(refs[0]), {}).get('comment')
        elif objtype == 'OBJECT_INDEX':
            old = before.get('index', {}).get('comment', before.get('comment'))
        else:
            old = before.get('comment')
        back = copy.deepcopy(node)
        back.comment = old
        return [deparse(back)]

    def acl_of(self, desc, ref, state):
        if not existed(desc):
            return None
        if ref.kind == 'func':
            return (desc.get('overloads', {}).get(state.member(ref)) or {}).get('acl')
        return desc.get('acl')

    def reverse_GrantStmt(self, stmt, node, state):
        back = copy.deepcopy(node)
        back.is_grant = not node.is_grant
        back.grant_option = False
        back.behavior = enums.DropBehavior.DROP_RESTRICT
        if node.targtype != enums.GrantTargetType.ACL_TARGET_OBJECT or not node.privileges or any(
                p.cols for p in node.privileges) or any(
                g.roletype not in (enums.RoleSpecType.ROLESPEC_CSTRING, enums.RoleSpecType.ROLESPEC_PUBLIC)
                for g in node.grantees):
            return [deparse(back)]
        # With a snapshot: undo only the privileges that actually changed.
        refs = grant_refs(node)
        if len(refs) != len(node.objects or ()):
            return [deparse(back)]
        statements = []
        for obj, ref in zip(node.objects, refs, strict=True):
            before, after = state.before(ref), state.after(ref)
            old, new = self.acl_of(before, ref, state), self.acl_of(after, ref, state)
            if old is None or new is None:
                return [deparse(back)]
            old, new = {tuple(e) for e in old}, {tuple(e) for e in new}
            for grantee in node.grantees:
                name = 'PUBLIC' if grantee.roletype == enums.RoleSpecType.ROLESPEC_PUBLIC else grantee.rolename
                for priv in node.privileges:
                    privilege = priv.priv_name.upper()
                    had = {e for e in old if e[0] == name and e[1] == privilege}
                    has = {e for e in new if e[0] == name and e[1] == privilege}
                    if had == has:
                        continue
                    one = copy.deepcopy(back)
                    one.objects = (obj,)
                    one.privileges = (priv,)
                    one.grantees = (grantee,)
                    if node.is_grant and had:
                        # It had the privilege without grant option: take back only the option.
                        one.grant_option = True
                    elif not node.is_grant:
                        one.grant_option = any(e[2] for e in had)
                        if has:  # REVOKE GRANT OPTION FOR: only the option went away
                            one.grant_option = True
                    statements.append(deparse(one))
        return statements

    def reverse_GrantRoleStmt(self, stmt, node, state):
        back = copy.deepcopy(node)
        back.is_grant = not node.is_grant
        if node.is_grant:
            kept = []
            for role in node.granted_roles:
                before = state.before(Ref('member', (role.priv_name,)))
                members = set(before.get('members', [])) if existed(before) else set()
                names = {g.rolename for g in node.grantee_roles}
                if not names <= {m.split('+')[0] for m in members}:
                    kept.append(role)
            if not kept:
                return []
            back.granted_roles = tuple(kept)
        back.opt = None
        return [deparse(back)]

    def reverse_AlterDefaultPrivilegesStmt(self, stmt, node, state):
        back = copy.deepcopy(node)
        back.action.is_grant = not node.action.is_grant
        back.action.grant_option = False
        return [deparse(back)]
