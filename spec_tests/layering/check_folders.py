#!/usr/bin/python3
"""The layering check between folders (ctest layers.folders_have_no_cycle).

    /usr/bin/python3 check_folders.py SOURCE_ROOT [LAYER_TABLE]

cmake/check_layers.cmake checks that every include points to a layer below; inside one layer (one
target) it cannot see two folders including each other. This script reads every .h/.cpp under
SOURCE_ROOT (src/), maps each `#include <vqvae/AREA/FILE>` (or `<vqvae/AREA/detail/FILE>`, an
area's internal header) to the file it names, and fails (one line per finding, then a count) when

  - folders reach each other in a circle: src/<layer>/vqvae/<area>/ (and its detail/ subfolder, a
    folder of its own: the area's internals may include its public headers, never the other way
    round) includes, directly or through other folders, a folder that includes it back (each cycle
    is printed with one include line per step, the file and line that make it);
  - inside one folder, files reach each other in a circle: a header and its source count as one
    unit (foo.h, foo.cpp), and no unit includes, directly or through others, a unit that includes
    it back (an include "running back up": the folder's files have an order);
  - a file of a layer that promises to be free of LibTorch (VQVAE_TORCH_FREE_LAYERS in
    cmake/VqvaeLayers.cmake) reaches <ATen/...>, <c10/...> or <torch/...> through the project
    headers it includes, transitively (the chain is printed).

Standard library only.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
TORCH = re.compile(r"^(ATen|c10|torch)/")


def torch_free_layers(table):
    text = open(table, encoding="utf-8").read()
    match = re.search(r"set\(VQVAE_TORCH_FREE_LAYERS\s+([^)]*)\)", text)
    return match.group(1).split() if match else []


def circles(edges):
    """One circle per strongly connected component (Tarjan) of the graph edges[a][b], found by a
    breadth-first search back to the component's first node: each a list of nodes."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(set(edges) | {t for targets in edges.values() for t in targets}):
        if node not in index:
            visit(node)
    found = []
    for component in components:
        start, members = component[0], set(component)
        previous, queue = {start: None}, [start]
        circle = None
        while queue and circle is None:
            node = queue.pop(0)
            for nxt in sorted(edges.get(node, {})):
                if nxt not in members:
                    continue
                if nxt == start:
                    circle, walk = [node], node
                    while previous[walk] is not None:
                        walk = previous[walk]
                        circle.append(walk)
                    circle.reverse()
                    break
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        found.append(circle)
    return found


def main(argv):
    if len(argv) not in (1, 2):
        print("usage: check_folders.py SOURCE_ROOT [LAYER_TABLE]", file=sys.stderr)
        return 2
    root = os.path.abspath(argv[0])
    table = argv[1] if len(argv) == 2 else os.path.join(root, "..", "cmake", "VqvaeLayers.cmake")
    free = torch_free_layers(table)

    # Every source file, and the header each <vqvae/...> include names.
    files, by_header = [], {}
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith((".h", ".cpp")):
                path = os.path.relpath(os.path.join(directory, name), root)
                files.append(path)
                parts = path.split(os.sep)  # <layer>/vqvae/<area>/<file> or <layer>/vqvae/<area>/detail/<file>
                if parts[1:2] == ["vqvae"] and (len(parts) == 4 or (len(parts) == 5 and parts[3] == "detail")):
                    by_header["/".join(["vqvae"] + parts[2:])] = path
    includes = {}  # file -> [(line number, included text, resolved project file or None)]
    for path in files:
        found = []
        for number, line in enumerate(open(os.path.join(root, path), encoding="utf-8", errors="replace"), 1):
            match = INCLUDE.match(line)
            if match:
                found.append((number, match.group(1), by_header.get(match.group(1))))
        includes[path] = found

    def folder(path):
        # An area's detail/ is a folder of its own: it may include the area's public headers, so
        # the area's own files must not include it (its implementation lives in detail/ as well).
        return os.path.dirname(path)

    # Folder graph: an edge per include between two folders, remembering one line that makes it.
    edges = {}
    for path, found in includes.items():
        for number, text, target in found:
            if target and folder(target) != folder(path):
                edges.setdefault(folder(path), {}).setdefault(folder(target), f"{path}:{number}: #include <{text}>")

    # Units: a header and its source (foo.h, foo.cpp) are one; an edge per include between two
    # units of the same folder. A circle here is an include running back up inside a folder.
    def unit(path):
        return os.path.splitext(path)[0]

    unit_edges = {}
    for path, found in includes.items():
        for number, text, target in found:
            if target and folder(target) == folder(path) and unit(target) != unit(path):
                unit_edges.setdefault(unit(path), {}).setdefault(unit(target), f"{path}:{number}: #include <{text}>")

    findings = []
    for what, graph in (("folders", edges), ("files of one folder", unit_edges)):
        for circle in circles(graph):
            steps = [graph[a][b] for a, b in zip(circle, circle[1:] + circle[:1])]
            findings.append(f"{what} reach each other in a circle: " + " -> ".join(circle + [circle[0]]) +
                            "\n    " + "\n    ".join(steps))

    # Torch-free layers, transitively.
    for path in sorted(includes):
        if path.split(os.sep)[0] not in free:
            continue
        seen, queue = {path: None}, [path]
        while queue:
            current = queue.pop(0)
            for number, text, target in includes.get(current, []):
                if TORCH.match(text):
                    chain, walk = [f"{current}:{number}: #include <{text}>"], current
                    while seen[walk] is not None:
                        chain.append(seen[walk])
                        walk = seen[walk].split(":")[0]
                    findings.append(f"{path}: layer {path.split(os.sep)[0]} is torch-free, but reaches <{text}>:\n    " +
                                    "\n    ".join(reversed(chain)))
                    queue = []
                    break
                if target and target not in seen:
                    seen[target] = f"{current}:{number}: #include <{text}>"
                    queue.append(target)

    for finding in findings:
        print(finding)
    folders = len({folder(p) for p in files})
    if findings:
        print(f"check_folders: {len(findings)} finding(s) in {len(files)} files, {folders} folders")
        return 1
    print(f"check_folders: OK — {len(files)} files, {folders} folders, {sum(len(t) for t in edges.values())} "
          f"folder-to-folder edges, {sum(len(t) for t in unit_edges.values())} file-to-file edges inside folders, "
          f"no cycle; torch-free layers ({', '.join(free)}) reach no LibTorch header")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
