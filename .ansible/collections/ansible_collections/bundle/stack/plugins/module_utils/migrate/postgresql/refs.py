# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What each PostgreSQL statement touches: the refs the snapshot describes and the reverse looks up."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    ast,
    enums,
    func_ref,
    rel_ref,
    rv_parts,
    rv_ref,
    strings,
    typename_parts,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import Ref, unique_refs

# --- refs: what each statement touches ---------------------------------------------

DROP_REF_KINDS = {
    'OBJECT_TABLE': 'rel', 'OBJECT_VIEW': 'rel', 'OBJECT_MATVIEW': 'rel', 'OBJECT_INDEX': 'rel',
    'OBJECT_SEQUENCE': 'rel', 'OBJECT_FOREIGN_TABLE': 'rel', 'OBJECT_TYPE': 'type', 'OBJECT_DOMAIN': 'type',
    'OBJECT_SCHEMA': 'schema', 'OBJECT_EXTENSION': 'ext', 'OBJECT_FUNCTION': 'func', 'OBJECT_PROCEDURE': 'func',
    'OBJECT_ROUTINE': 'func', 'OBJECT_AGGREGATE': 'func', 'OBJECT_EVENT_TRIGGER': 'evttrig',
}
# Objects named by table plus a name of their own.
TABLE_CHILD_KINDS = {'OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE', 'OBJECT_TABCONSTRAINT', 'OBJECT_COLUMN'}


def object_refs(objtype, obj):
    """Refs of an object as named in DROP, COMMENT, ALTER ... OWNER and friends."""
    name = enums.ObjectType(objtype).name
    if name in TABLE_CHILD_KINDS:
        return [rel_ref(strings(obj)[:-1])]
    if name in ('OBJECT_TYPE', 'OBJECT_DOMAIN'):
        parts = typename_parts(obj) if isinstance(obj, ast.TypeName) else strings(obj)
        return [Ref('type', parts)]
    if name == 'OBJECT_DOMCONSTRAINT':
        return [Ref('type', typename_parts(obj[0]) if isinstance(obj[0], ast.TypeName) else strings(obj[0]))]
    if isinstance(obj, ast.ObjectWithArgs):
        return [func_ref(obj)]
    kind = DROP_REF_KINDS.get(name)
    if kind is None:
        return []
    if kind in ('schema', 'ext', 'evttrig'):
        return [Ref(kind, strings(obj)[-1:])]
    return [Ref(kind, strings(obj))]


def grant_refs(stmt):
    objtype = enums.ObjectType(stmt.objtype).name
    if stmt.targtype == enums.GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        return [Ref('schema', (s.sval,)) for s in stmt.objects]
    refs = []
    for obj in stmt.objects or ():
        if isinstance(obj, ast.RangeVar):
            refs.append(rv_ref(obj))
        elif isinstance(obj, ast.ObjectWithArgs):
            refs.append(func_ref(obj))
        elif objtype == 'OBJECT_SCHEMA':
            refs.append(Ref('schema', (obj.sval,)))
        elif objtype in ('OBJECT_TYPE', 'OBJECT_DOMAIN'):
            refs.append(Ref('type', strings(obj)))
        elif objtype == 'OBJECT_DATABASE':
            refs.append(Ref('db', (obj.sval,)))
    return refs


def refs_of(node):
    """Objects a statement changes, reads the old state of, or creates."""
    refs = []
    if isinstance(node, ast.CreateStmt):
        refs.append(rv_ref(node.relation))
        refs.extend(rv_ref(p) for p in node.inhRelations or ())
    elif isinstance(node, ast.CreateTableAsStmt):
        refs.append(rv_ref(node.into.rel))
    elif isinstance(node, ast.ViewStmt):
        refs.append(rv_ref(node.view))
    elif isinstance(node, ast.IndexStmt):
        table = rv_parts(node.relation)
        refs.append(rel_ref(table))
        if node.idxname:
            refs.append(rel_ref(table[:-1] + (node.idxname,)))
    elif isinstance(node, (ast.CreateSeqStmt, ast.AlterSeqStmt)):
        refs.append(rv_ref(node.sequence))
    elif isinstance(node, ast.CompositeTypeStmt):
        refs.append(Ref('type', rv_parts(node.typevar)))
    elif isinstance(node, (ast.CreateEnumStmt, ast.CreateRangeStmt, ast.AlterEnumStmt)):
        refs.append(Ref('type', strings(node.typeName)))
    elif isinstance(node, ast.CreateDomainStmt):
        refs.append(Ref('type', strings(node.domainname)))
    elif isinstance(node, ast.AlterDomainStmt):
        refs.append(Ref('type', strings(node.typeName)))
    elif isinstance(node, ast.DefineStmt):
        kind = enums.ObjectType(node.kind).name
        if kind == 'OBJECT_TYPE':
            refs.append(Ref('type', strings(node.defnames)))
        elif kind == 'OBJECT_AGGREGATE':
            refs.append(Ref('func', strings(node.defnames)))
    elif isinstance(node, ast.CreateFunctionStmt):
        refs.append(Ref('func', strings(node.funcname)))
    elif isinstance(node, ast.AlterFunctionStmt):
        refs.append(func_ref(node.func))
    elif isinstance(node, ast.CreateTrigStmt):
        refs.append(rv_ref(node.relation))
    elif isinstance(node, ast.CreateEventTrigStmt):
        refs.append(Ref('evttrig', (node.trigname,)))
    elif isinstance(node, ast.CreateSchemaStmt):
        if node.schemaname:
            refs.append(Ref('schema', (node.schemaname,)))
    elif isinstance(node, (ast.CreateExtensionStmt, ast.AlterExtensionStmt)):
        refs.append(Ref('ext', (node.extname,)))
    elif isinstance(node, ast.AlterTableStmt):
        kind = 'type' if node.objtype == enums.ObjectType.OBJECT_TYPE else 'rel'
        refs.append(Ref(kind, rv_parts(node.relation)))
        for cmd in node.cmds:
            if cmd.subtype in (enums.AlterTableType.AT_AttachPartition, enums.AlterTableType.AT_DetachPartition):
                refs.append(rv_ref(cmd.def_.name))
            elif cmd.subtype in (enums.AlterTableType.AT_AddInherit, enums.AlterTableType.AT_DropInherit):
                refs.append(rv_ref(cmd.def_))
    elif isinstance(node, ast.RenameStmt):
        refs.extend(rename_refs(node))
    elif isinstance(node, ast.AlterObjectSchemaStmt):
        if node.relation is not None:
            old = rv_parts(node.relation)
            refs.append(rel_ref(old))
            refs.append(rel_ref((node.newschema, old[-1])))
        else:
            kind = 'func' if isinstance(node.object, ast.ObjectWithArgs) else 'type'
            old = object_refs(node.objectType, node.object)
            refs.extend(old)
            if old:
                refs.append(Ref(kind, (node.newschema, old[0].name), old[0].args))
    elif isinstance(node, ast.AlterOwnerStmt):
        if node.relation is not None:
            refs.append(rv_ref(node.relation))
        else:
            refs.extend(object_refs(node.objectType, node.object))
    elif isinstance(node, ast.CommentStmt):
        refs.extend(object_refs(node.objtype, node.object))
    elif isinstance(node, ast.GrantStmt):
        refs.extend(grant_refs(node))
    elif isinstance(node, ast.GrantRoleStmt):
        refs.extend(Ref('member', (p.priv_name,)) for p in node.granted_roles)
    elif isinstance(node, ast.AlterDefaultPrivilegesStmt):
        refs.append(Ref('defacl', ('all',)))
    elif isinstance(node, ast.DropStmt):
        for obj in node.objects:
            refs.extend(object_refs(node.removeType, obj))
    elif isinstance(node, (ast.CreatePolicyStmt, ast.AlterPolicyStmt)):
        refs.append(rv_ref(node.table))
    elif isinstance(node, ast.RuleStmt):
        refs.append(rv_ref(node.relation))
    elif isinstance(node, ast.CreateStatsStmt):
        refs.extend(rv_ref(r) for r in node.relations if isinstance(r, ast.RangeVar))
    elif isinstance(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
        refs.append(rv_ref(node.relation))
    elif isinstance(node, ast.TruncateStmt):
        refs.extend(rv_ref(r) for r in node.relations)
    elif isinstance(node, ast.CreateRoleStmt):
        refs.append(Ref('role', (node.role,)))
    return unique_refs(refs)


def rename_refs(node):
    kind = enums.ObjectType(node.renameType).name
    if node.relation is not None:
        parts = rv_parts(node.relation)
        if kind in ('OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_SEQUENCE',
                    'OBJECT_FOREIGN_TABLE'):
            return [rel_ref(parts), rel_ref(parts[:-1] + (node.newname,))]
        if kind == 'OBJECT_ATTRIBUTE':
            return [Ref('type', parts)]
        return [rel_ref(parts)]
    if kind == 'OBJECT_SCHEMA':
        return [Ref('schema', (node.subname,)), Ref('schema', (node.newname,))]
    if isinstance(node.object, ast.ObjectWithArgs):
        old = func_ref(node.object)
        return [old, Ref('func', old.parts[:-1] + (node.newname,), old.args)]
    if kind in ('OBJECT_TYPE', 'OBJECT_DOMAIN'):
        parts = strings(node.object)
        return [Ref('type', parts), Ref('type', parts[:-1] + (node.newname,))]
    if kind == 'OBJECT_DOMCONSTRAINT':
        return object_refs(node.renameType, node.object)
    return []
