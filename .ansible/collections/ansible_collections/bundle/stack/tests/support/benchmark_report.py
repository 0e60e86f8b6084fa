"""The one writer of a benchmark's section of docs/benchmarks.md.

Each benchmark owns the lines between its two HTML comment markers
(`<!-- <name>:start -->` and `<!-- <name>:end -->`) and rewrites only those, so the
hand-written text around them stays; a section not there yet is appended under its heading.
"""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / 'docs' / 'benchmarks.md'


def write_section(name, heading, lines, doc=DOC):
    """Put lines between the markers of section name, or append them under ## heading."""
    start, end = f'<!-- {name}:start -->', f'<!-- {name}:end -->'
    section = '\n'.join([start, *lines, end])
    text = doc.read_text() if doc.exists() else '# Benchmarks\n'
    if start in text:
        text = re.sub(re.escape(start) + '.*?' + re.escape(end), lambda _: section, text, flags=re.S)
    else:
        text += f'\n## {heading}\n\n{section}\n'
    doc.write_text(text)
