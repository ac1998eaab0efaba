#!/usr/bin/env python3
"""Write each add-on's README.rst from its OCA ``readme/`` fragments.

The fragments are small Markdown files (DESCRIPTION, CONFIGURE, USAGE,
ROADMAP, CONTRIBUTORS); this turns the little Markdown they use
(inline code, numbered and bulleted lists) into reStructuredText, as
OCA's ``oca-gen-addon-readme`` does, without its dependencies.

Usage: scripts/gen_readme.py [addon ...]   (default: every add-on)
"""

import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECTIONS = [
    ("CONFIGURE.md", "Configuration"),
    ("USAGE.md", "Usage"),
    ("ROADMAP.md", "Known issues / Roadmap"),
]


def md_to_rst(text):
    lines = []
    item_indent = None
    for line in text.strip().splitlines():
        rst = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", line)
        rst = re.sub(r"^(\s*)\d+\. ", r"\1#. ", rst)
        item = re.match(r"^(\s*)(?:#\.|-|\*) ", rst)
        if item:
            indent = len(item.group(1))
            # reStructuredText wants a blank line where a nested list
            # starts or ends
            if item_indent is not None and indent != item_indent and lines and lines[-1]:
                lines.append("")
            item_indent = indent
        elif not rst.strip():
            item_indent = None
        lines.append(rst)
    return "\n".join(lines) + "\n"


def heading(title, char):
    return f"{title}\n{char * len(title)}\n"


def render(addon):
    manifest = ast.literal_eval((addon / "__manifest__.py").read_text())
    readme = addon / "readme"
    name = manifest["name"]
    parts = [
        "=" * len(name) + "\n" + name + "\n" + "=" * len(name) + "\n",
        ".. |badge1| image:: https://img.shields.io/badge/licence-LGPL--3-blue.png\n"
        "    :target: http://www.gnu.org/licenses/lgpl-3.0-standalone.html\n"
        "    :alt: License: LGPL-3\n\n|badge1|\n",
        md_to_rst((readme / "DESCRIPTION.md").read_text()),
        "**Table of contents**\n\n.. contents::\n   :local:\n",
    ]
    for fragment, title in SECTIONS:
        path = readme / fragment
        if path.exists() and path.read_text().strip():
            parts.append(heading(title, "=") + "\n" + md_to_rst(path.read_text()))
    parts.append(heading("Credits", "="))
    parts.append(heading("Authors", "-") + "\n* " + manifest["author"] + "\n")
    parts.append(
        heading("Contributors", "-") + "\n" + md_to_rst((readme / "CONTRIBUTORS.md").read_text())
    )
    return "\n".join(parts)


def main():
    names = sys.argv[1:] or sorted(p.parent.name for p in REPO.glob("*/__manifest__.py"))
    for name in names:
        addon = REPO / name
        (addon / "README.rst").write_text(render(addon))
        print(f"{name}/README.rst")


if __name__ == "__main__":
    main()
