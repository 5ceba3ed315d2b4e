#!/usr/bin/python3
"""objcycles.py -- the dependency cycles between object files.

Usage: objcycles.py OBJ...

Object A depends on object B when A refers to a global symbol that B
defines (nm).  Prints each strongly connected component of more than one
object (a cycle: A calls into B and B, directly or not, back into A), one
per line, with the symbols that close it, and exits 1 if there is one.
"""
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", "-g", obj], check=True, capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] in ("U", "w", "v"):
            undefined.add(f[1])
        elif len(f) == 3 and f[1] not in ("U", "w", "v"):
            defined.add(f[2])
    return defined, undefined


def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main(objs):
    if not objs:
        print("usage: objcycles.py OBJ...", file=sys.stderr)
        return 2
    defs, uses, owner = {}, {}, {}
    for o in objs:
        defs[o], uses[o] = symbols(o)
        for s in defs[o]:
            owner.setdefault(s, o)
    edges = {o: sorted({owner[s] for s in uses[o] if s in owner and owner[s] != o}) for o in objs}
    bad = [sorted(c) for c in sccs(objs, edges) if len(c) > 1]
    for comp in bad:
        links = []
        for a in comp:
            for s in sorted(uses[a]):
                b = owner.get(s)
                if b in comp and b != a:
                    links.append("%s -> %s (%s)" % (a, b, s))
        print("cycle: " + " <-> ".join(comp))
        for l in links:
            print("  " + l)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
