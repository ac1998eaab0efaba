"""Checks on the repository itself: translations, pins, commands."""

import ast
import re
from pathlib import Path

import polib
import pytest

REPO = Path(__file__).resolve().parents[2]
ADDONS = sorted(p.parent for p in REPO.glob("*/__manifest__.py"))


def _manifest(addon):
    return ast.literal_eval((addon / "__manifest__.py").read_text())


@pytest.mark.parametrize("addon", ADDONS, ids=lambda p: p.name)
def test_hungarian_translation_complete(addon):
    pot = polib.pofile(str(addon / "i18n" / f"{addon.name}.pot"))
    hu = polib.pofile(str(addon / "i18n" / "hu.po"))
    translated = {(e.msgctxt, e.msgid): e.msgstr for e in hu if not e.obsolete}
    missing = [e.msgid for e in pot if not translated.get((e.msgctxt, e.msgid))]
    assert not missing, f"{len(missing)} untranslated: {missing[:10]}"
    fuzzy = [e.msgid for e in hu if "fuzzy" in e.flags]
    assert not fuzzy


@pytest.mark.parametrize("addon", ADDONS, ids=lambda p: p.name)
def test_placeholders_kept_in_translation(addon):
    hu = polib.pofile(str(addon / "i18n" / "hu.po"))
    pattern = re.compile(r"%\(\w+\)s|%s|%d|\{\w*\}")
    for entry in hu:
        if entry.msgstr:
            assert sorted(pattern.findall(entry.msgid)) == sorted(pattern.findall(entry.msgstr)), (
                entry.msgid
            )


def _requirements(path):
    """A requirements file's text, with the files it includes (``-r``)."""
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("-r "):
            lines.append(_requirements(path.parent / line[3:].strip()))
        else:
            lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("addon", ADDONS, ids=lambda p: p.name)
def test_external_dependencies_pinned_for_tests(addon):
    requirements = _requirements(REPO / "requirements-test.txt")
    pinned = dict(
        re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
        for line in requirements.splitlines()
        if "==" in line and not line.startswith("#")
    )
    for dependency in _manifest(addon).get("external_dependencies", {}).get("python", []):
        name = re.match(r"[A-Za-z0-9_.-]+", dependency).group(0)
        assert name in pinned, f"{dependency} of {addon.name} is not pinned"


@pytest.mark.parametrize("addon", ADDONS, ids=lambda p: p.name)
def test_readme_fragments(addon):
    for fragment in ("DESCRIPTION.md", "USAGE.md", "CONFIGURE.md", "CONTRIBUTORS.md"):
        assert (addon / "readme" / fragment).read_text().strip()
    assert (addon / "README.rst").read_text().strip()
    assert _manifest(addon)["version"].startswith("19.0.")


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.rst").read_text()
    assert "./scripts/test" in readme
    assert (REPO / ".ci" / "run").read_text().rstrip().endswith("exec ./scripts/test")
