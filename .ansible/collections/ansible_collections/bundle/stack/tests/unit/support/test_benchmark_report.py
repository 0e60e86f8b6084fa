"""The one writer of docs/benchmarks.md sections (tests/support/benchmark_report.py)."""

from tests.support.benchmark_report import write_section


def test_a_section_is_replaced_between_its_markers_and_nothing_else_changes(tmp_path):
    doc = tmp_path / 'benchmarks.md'
    doc.write_text('# Benchmarks\n\nBy hand.\n\n## A\n\n<!-- a:start -->\nold\nlines\n<!-- a:end -->\n\nAfter.\n')
    write_section('a', 'A', ['new'], doc=doc)
    assert doc.read_text() == '# Benchmarks\n\nBy hand.\n\n## A\n\n<!-- a:start -->\nnew\n<!-- a:end -->\n\nAfter.\n'


def test_a_new_section_is_appended_under_its_heading(tmp_path):
    doc = tmp_path / 'benchmarks.md'
    write_section('b', 'B: the second', ['one', '', 'two'], doc=doc)
    write_section('c', 'C', ['three'], doc=doc)
    assert doc.read_text() == ('# Benchmarks\n\n## B: the second\n\n<!-- b:start -->\none\n\ntwo\n<!-- b:end -->\n'
                               '\n## C\n\n<!-- c:start -->\nthree\n<!-- c:end -->\n')
