# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Column type changes: which ones keep every value (widening) and which ones may lose some."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    ParseError,
    ast,
    parse_sql,
    strings,
)

_INT_DIGITS = {'int2': 5, 'int4': 10, 'int8': 19}
_INT_ORDER = ['int2', 'int4', 'int8']
_TIME_ORDER = {'date': 0, 'timestamp': 1, 'timestamptz': 2}

# --- type changes ------------------------------------------------------------------


def parse_type(text):
    """(base name, typmods, array) of a type as format_type() writes it."""
    cast = parse_sql(f'SELECT NULL::{text}')[0].stmt.targetList[0].val
    typename = cast.typeName
    base = typename.names[-1].sval
    mods = []
    for mod in typename.typmods or ():
        value = getattr(mod, 'val', None)
        mods.append(getattr(value, 'ival', None) if value is not None else None)
    return base, tuple(mods), bool(typename.arrayBounds)


def is_widening(old, new):
    """True when every value of type old converts to new and back unchanged."""
    if old == new:
        return True
    try:
        (ob, om, oa), (nb, nm, na) = parse_type(old), parse_type(new)
    except ParseError:
        return False
    if oa != na:
        return False
    if ob == nb and not om and not nm:
        return True
    if nb == 'text' or (nb == 'varchar' and not nm):
        return True  # every value has a text form that casts back
    if ob in _INT_DIGITS and nb in _INT_DIGITS:
        return _INT_ORDER.index(nb) >= _INT_ORDER.index(ob)
    if ob in _INT_DIGITS and nb == 'numeric':
        return not nm or (nm[0] - (nm[1] if len(nm) > 1 else 0)) >= _INT_DIGITS[ob]
    if ob in ('int2', 'int4') and nb == 'float8':
        return True
    if ob == 'int2' and nb == 'float4':
        return True
    if ob == 'float4' and nb == 'float8':
        return True
    if ob == 'numeric' and nb == 'numeric':
        if not nm:
            return True
        if not om:
            return False
        oscale, nscale = (om[1] if len(om) > 1 else 0), (nm[1] if len(nm) > 1 else 0)
        return nscale >= oscale and nm[0] - nscale >= om[0] - oscale
    if ob in ('varchar', 'bpchar') and nb in ('varchar', 'bpchar'):
        if ob == 'varchar' and nb == 'bpchar':
            return False  # char(n) pads: trailing spaces change
        if not nm:
            return True
        return bool(om) and nm[0] >= om[0]
    if ob in _TIME_ORDER and nb in _TIME_ORDER:
        if _TIME_ORDER[nb] < _TIME_ORDER[ob]:
            return False
        # timestamp without a precision keeps microseconds (6).
        old_precision = om[0] if om else 6
        new_precision = nm[0] if nm else 6
        return new_precision >= old_precision
    if ob in ('time', 'timetz') and nb in ('time', 'timetz'):
        return nb == 'timetz' or ob == nb
    if {ob, nb} == {'json', 'jsonb'}:
        return True  # jsonb only drops insignificant whitespace and duplicate keys
    if ob in ('bit', 'varbit') and nb == 'varbit':
        return not nm or bool(om) and nm[0] >= om[0]
    return False


def plain_cast_of(expr, column):
    """True when a USING expression is the column itself or a cast of it."""
    while isinstance(expr, ast.TypeCast):
        expr = expr.arg
    return isinstance(expr, ast.ColumnRef) and strings(expr.fields)[-1:] == (column,)


def time_zone_of(expr, column):
    """The zone of `column AT TIME ZONE 'zone'` (timezone('zone', column)), else None."""
    if not isinstance(expr, ast.FuncCall) or strings(expr.funcname)[-1:] != ('timezone',) or len(expr.args) != 2:
        return None
    zone, arg = expr.args
    if isinstance(zone, ast.A_Const) and isinstance(zone.val, ast.String) and plain_cast_of(arg, column):
        return zone.val.sval
    return None
