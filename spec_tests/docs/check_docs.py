#!/usr/bin/python3
"""Keeps README.md and docs/ honest (ctest docs.links_and_commands).

    /usr/bin/python3 spec_tests/docs/check_docs.py build/vqvae [--root REPO]

Checks, printing one line per problem and exiting 1 if there is any:
  (a) every relative link and image in README.md and docs/*.md resolves to an existing file, and
      a link with a #fragment to an existing heading of its target (GitHub's heading slugs);
  (b) every command in README.md's commands table (the table under "## Commands") links to a page
      under docs/ that exists;
  (c) the table's commands are exactly the subcommands `vqvae --help` lists;
  (d) every page in docs/ is linked from README.md or from another page;
  (e) README.md is at most --max-readme-lines lines (150: the manual lives in docs/);
  (f) every flag a command's --help prints (and its subcommands', and the program's own) is
      written, as `--flag`, in docs/configuration.md or in a page the command's row links to.
Links inside fenced code blocks and inline code are not links. Standard library only.
"""

import argparse
import os
import re
import subprocess
import sys
import unicodedata
from urllib.parse import unquote

LINK = re.compile(r'!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
INLINE_CODE = re.compile(r'(`+)(?:.+?)\1')
FENCE = re.compile(r'^\s*(```|~~~)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')


def prose_lines(text):
    """(line number, line) of every line outside fenced code blocks."""
    inside = None
    for number, line in enumerate(text.split('\n'), 1):
        fence = FENCE.match(line)
        if fence:
            if inside is None:
                inside = fence.group(1)
            elif fence.group(1) == inside:
                inside = None
            continue
        if inside is None:
            yield number, line


def links(text):
    """(line number, target) of every Markdown link and image outside code."""
    for number, line in prose_lines(text):
        code = [m.span() for m in INLINE_CODE.finditer(line)]
        for match in LINK.finditer(line):
            if any(start <= match.start() < end for start, end in code):
                continue
            yield number, match.group(2)


def slug(heading):
    """GitHub's anchor for a heading: its text without Markdown, lower case, punctuation other
    than '-' and '_' removed, spaces as '-'."""
    text = re.sub(r'!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)', r'\1', heading)  # links: their text
    text = re.sub(r'<[^>]+>', '', text)  # inline HTML
    text = text.replace('`', '').replace('*', '')
    text = text.strip().lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in ' -_' or category[0] in 'LNM':
            kept.append(char)
    return ''.join(kept).replace(' ', '-')


def anchors(path, cache={}):
    """The anchors of a Markdown file's headings, with GitHub's -1, -2 for repeated ones."""
    if path not in cache:
        seen = {}
        result = set()
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for _, line in prose_lines(text):
            match = HEADING.match(line)
            if not match:
                continue
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            result.add(base if count == 0 else f'{base}-{count}')
        cache[path] = result
    return cache[path]


def check_links(root, files, problems):
    """(a): returns {page path: set of files that link to it} for (d)."""
    linked_from = {}
    for path in files:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        where = os.path.relpath(path, root)
        for number, target in links(text):
            if re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I):  # http:, https:, mailto:, ...
                continue
            file_part, _, fragment = target.partition('#')
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), unquote(file_part))) if file_part else path
            if not os.path.exists(resolved):
                problems.append(f'{where}:{number}: link {target!r}: no such file '
                                f'({os.path.relpath(resolved, root)})')
                continue
            if resolved != path:
                linked_from.setdefault(resolved, set()).add(path)
            if fragment:
                if not resolved.endswith('.md') or os.path.isdir(resolved):
                    problems.append(f'{where}:{number}: link {target!r}: #{fragment} points into a file that is not Markdown')
                elif unquote(fragment) not in anchors(resolved):
                    problems.append(f'{where}:{number}: link {target!r}: no heading with anchor '
                                    f'#{fragment} in {os.path.relpath(resolved, root)}')
    return linked_from


def commands_table(readme):
    """(line number, command, [link targets]) of each row of the table under '## Commands'."""
    with open(readme, encoding='utf-8') as f:
        text = f.read()
    rows = []
    in_section = False
    for number, line in prose_lines(text):
        if re.match(r'^#{1,6}\s', line):
            in_section = re.match(r'^##\s+Commands\s*$', line) is not None
            continue
        if not in_section or not line.lstrip().startswith('|'):
            continue
        cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
        command = re.fullmatch(r'`vqvae ([a-z][a-z0-9_-]*)`', cells[0]) if cells else None
        if command:
            rows.append((number, command.group(1), [target for _, target in links(line)]))
    return rows


def help_subcommands(vqvae):
    """The subcommands `vqvae --help` lists under 'Subcommands:'."""
    out = subprocess.run([vqvae, '--help'], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f'{vqvae} --help exited with status {out.returncode}: {out.stderr.strip()}')
    names, inside = [], False
    for line in out.stdout.split('\n'):
        if re.match(r'^Subcommands:\s*$', line):
            inside = True
            continue
        if inside:
            if line and not line.startswith(' '):
                break
            match = re.match(r'^  ([a-z][a-z0-9_-]*)(\s|$)', line)
            if match:
                names.append(match.group(1))
    if not names:
        raise RuntimeError(f'{vqvae} --help lists no subcommands (no "Subcommands:" section)')
    return names


FLAG = re.compile(r'(?<![\w-])(--[a-z0-9][a-z0-9-]*)')


def help_flags(vqvae, words):
    """The flags `vqvae WORDS --help` lists (lines of its option sections), and its subcommands."""
    out = subprocess.run([vqvae] + words + ['--help'], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f'vqvae {" ".join(words)} --help exited with status {out.returncode}')
    flags, subcommands, section = set(), [], None
    for line in out.stdout.split('\n'):
        if line and not line.startswith(' '):
            section = line.rstrip(':')
            continue
        stripped = line.strip()
        if section and section.startswith('Subcommands'):
            match = re.match(r'^([a-z][a-z0-9_-]*)(\s|$)', stripped)
            if match:
                subcommands.append(match.group(1))
        elif stripped.startswith('-'):
            flags.update(f for f in FLAG.findall(stripped.split('  ')[0]) if f not in ('--help',))
    return flags, subcommands


def documented_flags(paths):
    """Every `--flag` written in these Markdown files."""
    found = set()
    for path in paths:
        with open(path, encoding='utf-8') as f:
            found.update(FLAG.findall(f.read()))
    return found


def check_flags(vqvae, root, rows, problems):
    """(f): returns the number of flags checked."""
    configuration = os.path.join(root, 'docs', 'configuration.md')
    common = documented_flags([configuration])
    checked = 0
    global_flags, _ = help_flags(vqvae, [])
    for flag in sorted(global_flags - common - {'--version'}):
        problems.append(f'vqvae --help: {flag} is not documented in docs/configuration.md')
    checked += len(global_flags)
    for _, command, targets in rows:
        pages = [os.path.join(root, t.partition('#')[0]) for t in targets if t.partition('#')[0].endswith('.md')]
        written = common | documented_flags([p for p in pages if os.path.isfile(p)])
        queue = [[command]]
        while queue:
            words = queue.pop(0)
            flags, subcommands = help_flags(vqvae, words)
            queue.extend(words + [sub] for sub in subcommands)
            checked += len(flags)
            for flag in sorted(flags - written - global_flags):
                problems.append(f'vqvae {" ".join(words)} --help: {flag} is documented neither in '
                                f'docs/configuration.md nor in {", ".join(os.path.relpath(p, root) for p in pages)}')
    return checked


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('vqvae', help='the vqvae program, whose --help lists the subcommands')
    parser.add_argument('--root', default=os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')),
                        help='the repository (default: two folders above this script)')
    parser.add_argument('--max-readme-lines', type=int, default=150)
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    readme = os.path.join(root, 'README.md')
    docs = os.path.join(root, 'docs')
    pages = sorted(os.path.join(docs, name) for name in os.listdir(docs) if name.endswith('.md'))
    files = [readme] + pages
    problems = []

    linked_from = check_links(root, files, problems)
    link_count = sum(1 for path in files for _ in links(open(path, encoding='utf-8').read()))

    rows = commands_table(readme)
    if not rows:
        problems.append('README.md: no commands table (rows "| `vqvae <command>` | ... |" under "## Commands")')
    table = []
    for number, command, targets in rows:
        table.append(command)
        pages_linked = [t for t in targets if not re.match(r'^[a-z][a-z0-9+.-]*:', t, re.I)
                        and os.path.normpath(os.path.join(root, t.partition('#')[0])).startswith(docs + os.sep)
                        and t.partition('#')[0].endswith('.md')]
        if not pages_linked:
            problems.append(f'README.md:{number}: `vqvae {command}` links to no page under docs/')
        for target in pages_linked:
            if not os.path.isfile(os.path.join(root, target.partition('#')[0])):
                problems.append(f'README.md:{number}: `vqvae {command}`: its page {target.partition("#")[0]} does not exist')
    for command in sorted({c for c in table if table.count(c) > 1}):
        problems.append(f'README.md: `vqvae {command}` is in the commands table {table.count(command)} times')

    try:
        listed = help_subcommands(args.vqvae)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        problems.append(f'{args.vqvae} --help: {error}')
        listed = None
    if listed is not None:
        for command in listed:
            if command not in table:
                problems.append(f'README.md: `vqvae {command}` (in vqvae --help) is missing from the commands table')
        for command in table:
            if command not in listed:
                problems.append(f'README.md: `vqvae {command}` is in the commands table but not in vqvae --help')

    flags_checked = 0
    try:
        flags_checked = check_flags(args.vqvae, root, rows, problems)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        problems.append(f'flags: {error}')

    with open(readme, encoding='utf-8') as f:
        readme_lines = len(f.read().splitlines())
    if readme_lines > args.max_readme_lines:
        problems.append(f'README.md: {readme_lines} lines, more than {args.max_readme_lines}: move detail to a page in docs/')

    for page in pages:
        if not linked_from.get(page):
            problems.append(f'{os.path.relpath(page, root)}: no link to it from README.md or another page in docs/')

    for problem in problems:
        print(f'check_docs: {problem}')
    if problems:
        print(f'check_docs: FAILED — {len(problems)} problem(s) in README.md and docs/ ({len(files)} files)')
        return 1
    print(f'check_docs: OK — {link_count} links in {len(files)} files resolve; {len(table)} commands in '
          f'the table, each with its page, = vqvae --help; {flags_checked} flags of --help documented; '
          f'README.md {readme_lines} lines')
    return 0


if __name__ == '__main__':
    sys.exit(main())
