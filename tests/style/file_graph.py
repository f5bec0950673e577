#!/usr/bin/python3
"""The file-level call graph of descent, from the object files: no loops, no arrow up.

A file depends on another when it uses a symbol (function or data) the other defines:
`nm` lists what each src/<layer>/<file>.c object defines and what it leaves undefined.
Two checks, each failing unless the finding is in ALLOWED_LOOPS or ALLOWED_ARROWS below:

  1. no loop of files: a strongly connected component of more than one file is a set
     of files that call each other, directly or round a ring (none may be read alone);
  2. no arrow up or across the layers: a file calls only files of its own layer or of a
     lower one (LAYERS, lowest first; layers on one line are peers, which do not call
     each other). The order is the one shared/DESIGN.md and docs/README.md describe:

         core                      status, memory, specs, kinds, the optimizer object, its step
         optim  sched  data        update rules; schedules; dataset loaders
         checkpoint                optimizer and schedule state to and from safetensors
         nn     problems           the network layer; test functions
         dist   plot               MPI (libdescent_dist); figures (libdescent_plot)
         cli                       the descent command

     core holds pointers to what the layers above supply (the update rules' dsc__ops,
     the schedules' dsc__sched_hooks) and calls them only through those tables of
     function pointers: a lower layer calls back up only where it holds such a table.
     The one file that names the update rules' tables (CALLBACK_TABLES) is not taken to
     depend on their files; every other reference is an arrow.

Usage: file_graph.py BUILD_DIR [SOURCE_DIR]
BUILD_DIR is a configured and built CMake tree (build/, build-asan/); the objects are
found under BUILD_DIR/CMakeFiles/<target>.dir/src/<layer>/<file>.c.o, those of files
SOURCE_DIR (default: this checkout) still has (a moved file leaves its object). Prints every
finding, allowed or not, and exits 1 when one is not allowed (2 when no objects).
"""
import glob
import os
import subprocess
import sys

LAYERS = [
    ["core"],
    ["optim", "sched", "data"],
    ["checkpoint"],
    ["nn", "problems"],
    ["dist", "plot"],
    ["cli"],
]
RANK = {layer: r for r, peers in enumerate(LAYERS) for layer in peers}

# Findings known and being removed (issue 18 item 4): each loop as the set of its files
# (a loop that shrinks to a subset of one listed here is still allowed), each arrow as
# "from.c -> to.c". Empty this list as the findings go; never add to it.
ALLOWED_LOOPS = []
ALLOWED_ARROWS = set()

# The tables of function pointers through which a lower layer calls the one above
# (pattern of the symbols: the one file that may name them): a reference to one is not
# a call, so not an arrow. core's kind table names every update rule's dsc__ops.
CALLBACK_TABLES = [("dsc__ops_", "src/core/registry.c")]

# The targets whose objects are the project's code (the tests and examples are not).
TARGETS = ["descent_objects", "descent_dist", "descent_plot", "descent_cli"]


def objects(build, source):
    found = {}
    for target in TARGETS:
        root = os.path.join(build, "CMakeFiles", target + ".dir")
        for path in glob.glob(os.path.join(root, "src", "*", "*.c.o")):
            rel = os.path.relpath(path, root)[: -len(".o")]
            if os.path.exists(os.path.join(source, rel)):
                found[rel] = path
    return found


def symbols(objs):
    """file -> (defined, undefined) global symbol names of its object (one nm for all)."""
    by_path = {p: f for f, p in objs.items()}
    table = {f: (set(), set()) for f in objs}
    out = subprocess.run(["nm", "-P", "-A"] + sorted(by_path), check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        path, _, rest = line.partition(": ")
        parts = rest.split()
        if path not in by_path or len(parts) < 2:
            continue
        defined, undefined = table[by_path[path]]
        name, kind = parts[0], parts[1]
        if kind in ("U", "w", "v"):
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return table


def graph(objs):
    """file -> {file it uses a symbol of: the symbols}."""
    table = symbols(objs)
    owner = {}
    for f, (defined, _) in table.items():
        for s in defined:
            owner.setdefault(s, f)
    edges = {f: {} for f in table}
    for f, (_, undefined) in table.items():
        for s in sorted(undefined):
            g = owner.get(s)
            if any(s.startswith(prefix) and f == holder for prefix, holder in CALLBACK_TABLES):
                continue
            if g and g != f:
                edges[f].setdefault(g, []).append(s)
    return edges


def why(edges, f, g):
    """"f -> g (the symbols f uses)", at most three named."""
    syms = edges[f][g]
    more = f", +{len(syms) - 3}" if len(syms) > 3 else ""
    return f"{f} -> {g} ({', '.join(syms[:3])}{more})"


def loops(edges):
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(comp)
    return out


def layer(f):
    return f.split("/")[1]


def arrows(edges):
    """Calls to a file of a higher layer or of a peer layer."""
    out = []
    for f in sorted(edges):
        for g in sorted(edges[f]):
            a, b = layer(f), layer(g)
            if a != b and RANK.get(b, -1) >= RANK.get(a, -1):
                out.append(f"{f} -> {g}")
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: file_graph.py BUILD_DIR [SOURCE_DIR]", file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    source = argv[2] if len(argv) > 2 else os.path.dirname(os.path.dirname(here))
    objs = objects(argv[1], source)
    if not objs:
        print(f"file_graph: no objects under {argv[1]}/CMakeFiles/*.dir/src (not built?)", file=sys.stderr)
        return 2
    unknown = sorted({layer(f) for f in objs} - set(RANK))
    if unknown:
        print(f"file_graph: layers {unknown} are not in LAYERS: place them in the order", file=sys.stderr)
        return 1
    edges = graph(objs)
    bad = 0
    for comp in loops(edges):
        ok = any(comp <= allowed for allowed in ALLOWED_LOOPS)
        bad += not ok
        inner = [why(edges, f, g) for f in sorted(comp) for g in sorted(set(edges[f]) & comp)]
        print(f"{'allowed' if ok else 'FAIL'}: a loop of {len(comp)} files: {' '.join(sorted(comp))}")
        for e in inner:
            print(f"    {e}")
    for a in arrows(edges):
        ok = a in ALLOWED_ARROWS
        bad += not ok
        f, g = a.split(" -> ")
        print(f"{'allowed' if ok else 'FAIL'}: {layer(f)} calls up into {layer(g)}: {why(edges, f, g)}")
    nfiles, narrows = len(edges), sum(len(v) for v in edges.values())
    print(f"file_graph: {nfiles} files, {narrows} arrows, {bad} finding(s) not allowed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
