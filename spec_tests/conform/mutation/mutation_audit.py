#!/usr/bin/python3
"""Mutation audit of `vqvae conform` (ctest conform.mutation_audit).

How much of the pipeline does conform's verdict cover? Change the fixed test double
(spec_tests/conform/doubles/fixed/src, the baseline's API with the five fixes applied) one operator at
a time — first-order mutants, as PIT, mutmut and cosmic-ray make them — run conform on each, and
count the mutants it catches (exit status not 0: a check failed, or the driver could not run).

Operators (on the Python syntax tree; strings, docstrings and f-strings are left alone):
  arithmetic   + <-> -, * <-> /, ** -> *, // -> /, and the same in augmented assignments
  comparison   < -> <=, <= -> <, > -> >=, >= -> >, == <-> !=, is <-> is not, in <-> not in
  unary        -x -> x, not x -> x
  constants    an integer n -> n + 1, a float x -> x + 1, True <-> False, None -> 0 where a default
  calls        argmin <-> argmax, min <-> max, mean <-> sum (method or function), x.detach() -> x

    /usr/bin/python3 mutation_audit.py --vqvae build/vqvae [--jobs 2] [--floor 0.9]
        [--survivors survivors.txt] [--only ID] [--list] [--cold]

The Python driver runs warm (warm_driver.py: torch, h5py and scikit-learn imported once, a fork per
conform run), which halves the audit's time; --cold starts it anew each time, as a user's conform
does: the verdicts are the same.

Every mutant has a stable id, "FILE:LINE:COL:OPERATOR". The committed survivors file lists each
mutant conform does not catch, one per line: "ID | equivalent: why no behaviour could tell it
apart" or "ID | not checked: the check that is missing, and why". The score is the share of
mutants caught among those not listed as equivalent (an equivalent mutant is not a fault, so no
suite can catch it; the raw share is printed too). The audit fails (exit 1) when the score is below
--floor, when a mutant survives that the file does not list, or when one it lists is now caught
(the list must stay true). It prints the score, per file and per area of the checks that caught
them.
"""
import argparse
import ast
import concurrent.futures
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXED = os.path.join(HERE, "..", "doubles", "fixed")
DRIVER = os.path.join(SOURCE, "tools", "python", "seed_api_driver.py")
WARM = os.path.join(HERE, "warm_driver.py")
# A small configuration: its cases run besides the golden and built-in ones, quickly.
CONFIG = ["--n", "1000", "--codebook-size", "32", "--batch-size", "64"]

BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
          ast.FloorDiv: ast.Div}
COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.FloorDiv: "//",
          ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
          ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
CALLS = {"argmin": "argmax", "argmax": "argmin", "min": "max", "max": "min", "mean": "sum", "sum": "mean"}


def skipped_nodes(tree):
    """Nodes whose constants are not mutated: docstrings and f-strings (text, not behaviour)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
    return skip


def mutations_of(node, skip):
    """The (description, apply) pairs at this node; apply(node) mutates it in place or returns a
    replacement node."""
    out = []
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in BINARY:
        new = BINARY[type(node.op)]
        out.append((f"{SYMBOL[type(node.op)]} -> {SYMBOL[new]}", lambda n, new=new: setattr(n, "op", new())))
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE:
                new = COMPARE[type(op)]
                def apply(n, i=i, new=new):
                    n.ops[i] = new()
                where = f" (comparison {i + 1})" if len(node.ops) > 1 else ""
                out.append((f"{SYMBOL[type(op)]} -> {SYMBOL[new]}{where}", apply))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        out.append(("-x -> x" if isinstance(node.op, ast.USub) else "not x -> x", lambda n: n.operand))
    if isinstance(node, ast.Constant) and id(node) not in skip:
        value = node.value
        if isinstance(value, bool):
            out.append((f"{value} -> {not value}", lambda n: setattr(n, "value", not n.value)))
        elif isinstance(value, int):
            out.append((f"{value} -> {value + 1}", lambda n: setattr(n, "value", n.value + 1)))
        elif isinstance(value, float):
            out.append((f"{value!r} -> {value + 1!r}", lambda n: setattr(n, "value", n.value + 1.0)))
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in CALLS:
            def swap(n, new=CALLS[name]):
                if isinstance(n.func, ast.Attribute):
                    n.func.attr = new
                else:
                    n.func.id = new
            out.append((f"{name}() -> {CALLS[name]}()", swap))
        if isinstance(func, ast.Attribute) and func.attr == "detach" and not node.args:
            out.append(("x.detach() -> x", lambda n: n.func.value))
    return out


class Mutant:
    def __init__(self, path, line, column, description, index):
        self.path, self.line, self.column, self.description, self.index = path, line, column, description, index

    @property
    def id(self):
        return f"{self.path}:{self.line}:{self.column}:{self.description}"


def collect():
    mutants = []
    for root, _, names in sorted(os.walk(os.path.join(FIXED, "src"))):
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            full = os.path.join(root, name)
            rel = os.path.relpath(full, FIXED)
            tree = ast.parse(open(full, encoding="utf-8").read())
            skip = skipped_nodes(tree)
            index = 0
            for node in ast.walk(tree):
                for description, _ in mutations_of(node, skip):
                    mutants.append(Mutant(rel, node.lineno, node.col_offset, description, index))
                    index += 1
    return mutants


def mutated_source(mutant):
    """The file's source with exactly this mutant applied (ast.unparse: comments dropped). The
    nodes are visited in collect()'s order, so that the index names the same mutation."""
    tree = ast.parse(open(os.path.join(FIXED, mutant.path), encoding="utf-8").read())
    skip = skipped_nodes(tree)
    parents = {}
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for position, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        parents[id(child)] = (parent, field, position)
            elif isinstance(value, ast.AST):
                parents[id(value)] = (parent, field, None)
    index = 0
    for node in ast.walk(tree):
        for _, apply in mutations_of(node, skip):
            if index == mutant.index:
                replacement = apply(node)
                if isinstance(replacement, ast.AST):
                    parent, field, position = parents[id(node)]
                    if position is None:
                        setattr(parent, field, replacement)
                    else:
                        getattr(parent, field)[position] = replacement
                return ast.unparse(ast.fix_missing_locations(tree))
            index += 1
    raise RuntimeError(f"mutant {mutant.id} not found")


def run_one(mutant, vqvae, timeout, driver):
    """(mutant, caught, areas that caught it, seconds). driver(repo): conform's --driver command."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vqvae_mutant_") as folder:
        repo = os.path.join(folder, "repo")
        shutil.copytree(FIXED, repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        with open(os.path.join(repo, mutant.path), "w", encoding="utf-8") as f:
            f.write(mutated_source(mutant) + "\n")
        command = [vqvae, "conform", *CONFIG, "--json", "--timeout", str(timeout), "--driver", driver(repo)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 60)
        except subprocess.TimeoutExpired:
            return mutant, True, ["(timed out)"], time.monotonic() - start
    areas = []
    if result.returncode == 1:
        try:
            report = json.loads(result.stdout)
            areas = sorted({c.get("area", "?") for c in report["checks"] if c["status"] == "failed"})
        except (ValueError, KeyError):
            areas = ["?"]
    elif result.returncode != 0:
        areas = ["(driver failed)"]
    return mutant, result.returncode != 0, areas, time.monotonic() - start


def read_survivors(path):
    listed = {}
    if path and os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            mutant_id, _, why = line.partition(" | ")
            listed[mutant_id.strip()] = why.strip()
    return listed


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vqvae", help="the vqvae program")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--floor", type=float, default=0.9, help="fail below this share of mutants caught")
    parser.add_argument("--survivors", default=os.path.join(HERE, "survivors.txt"))
    parser.add_argument("--timeout", type=int, default=120, help="seconds per conform run")
    parser.add_argument("--only", action="append", default=[], help="run only mutants whose id contains this")
    parser.add_argument("--list", action="store_true", help="print the mutants' ids and stop")
    parser.add_argument("--cold", action="store_true",
                        help="start the Python driver anew for every mutant (slower; the same verdicts)")
    args = parser.parse_args(argv)

    mutants = collect()
    if args.only:
        mutants = [m for m in mutants if any(text in m.id for text in args.only)]
    if args.list:
        for m in mutants:
            print(m.id)
        print(f"{len(mutants)} mutants", file=sys.stderr)
        return 0
    if not args.vqvae:
        parser.error("--vqvae is required")
    for m in mutants:  # every mutant must still parse, or it tests nothing
        compile(mutated_source(m), m.id, "exec")

    start = time.monotonic()
    results = []
    server, folder = None, tempfile.mkdtemp(prefix="vqvae_audit_")
    if args.cold:
        def driver(repo):
            return f"/usr/bin/python3 {DRIVER} --repo {repo}"
    else:
        # The driver, warm: torch, h5py and scikit-learn imported once, a fork per run (warm_driver.py).
        socket_path = os.path.join(folder, "driver.sock")
        server = subprocess.Popen(["/usr/bin/python3", WARM, "serve", socket_path], stdout=subprocess.PIPE, text=True)
        if server.stdout.readline().strip() != "ready":
            print("FAIL: the warm driver did not start")
            return 1

        def driver(repo):
            return f"/usr/bin/python3 {WARM} run {socket_path} --repo {repo}"
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for done, result in enumerate(pool.map(lambda m: run_one(m, args.vqvae, args.timeout, driver), mutants), 1):
                results.append(result)
                if done % 25 == 0:
                    print(f"... {done}/{len(mutants)} mutants, {time.monotonic() - start:.0f} s", flush=True)
    finally:
        if server:
            server.terminate()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)
    caught = [r for r in results if r[1]]
    survived = [r[0] for r in results if not r[1]]
    listed = read_survivors(args.survivors)
    equivalent = [m for m in survived if listed.get(m.id, "").startswith("equivalent")]
    judged = len(results) - len(equivalent)
    score = len(caught) / judged if judged else 0.0

    by_file, by_area = {}, {}
    for mutant, was_caught, areas, _ in results:
        total, killed = by_file.get(mutant.path, (0, 0))
        by_file[mutant.path] = (total + 1, killed + was_caught)
        for area in areas:
            by_area[area] = by_area.get(area, 0) + 1
    print(f"\nmutation audit: {len(caught)} of {len(results)} mutants caught; {len(equivalent)} of the "
          f"{len(survived)} survivors are equivalent: score {len(caught)}/{judged} = {100 * score:.1f} % "
          f"(raw {100 * len(caught) / max(1, len(results)):.1f} %), in {time.monotonic() - start:.0f} s on {args.jobs} jobs")
    print("per file (caught/total):")
    for path, (total, killed) in sorted(by_file.items()):
        print(f"  {path:45} {killed:4}/{total:<4}")
    print("areas whose checks caught them (a mutant can be caught by several):")
    for area, n in sorted(by_area.items(), key=lambda item: -item[1]):
        print(f"  {area:20} {n}")

    status = 0
    unlisted = [m for m in survived if m.id not in listed]
    if args.only:
        stale = [i for i in listed if any(text in i for text in args.only) and i in {r[0].id for r in caught}]
    else:
        stale = [i for i in listed if i not in {m.id for m in survived}]
    if survived:
        print("survivors:")
        for m in survived:
            print(f"  {m.id}" + (f"  | {listed[m.id]}" if m.id in listed else "  | NOT LISTED"))
    if score < args.floor:
        print(f"FAIL: {100 * score:.1f} % caught, below the floor of {100 * args.floor:.0f} %")
        status = 1
    if unlisted:
        print(f"FAIL: {len(unlisted)} survivor(s) not in {args.survivors}: add each with why it survives "
              f"(equivalent, or the check that is missing), or add the check")
        status = 1
    if stale:
        print(f"FAIL: {len(stale)} listed survivor(s) are caught now or no longer exist; remove them from "
              f"{args.survivors}: " + "; ".join(stale))
        status = 1
    if status == 0:
        print("ok")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
