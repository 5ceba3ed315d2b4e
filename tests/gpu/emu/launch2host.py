#!/usr/bin/env python3
"""launch2host.py IN.cu OUT.cpp — rewrites a radpipe .cu file for the host
emulator (emu.h): `k<<<grid, block, shm, stream>>>(args);` becomes
`emu_launch(dim3(grid), dim3(block), F);` where F calls k with copies of
the arguments taken at the launch, as CUDA does (a captured launch runs
later, see emu.cpp)."""
import re
import sys


def split_top(s):
    """Splits s at the commas outside parentheses."""
    out, depth, cur = [], 0, ''
    for ch in s:
        depth += ch in '([' and 1 or ch in ')]' and -1 or 0
        if ch == ',' and depth == 0:
            out.append(cur.strip())
            cur = ''
        else:
            cur += ch
    out.append(cur.strip())
    return out


def launch(m):
    cfg = split_top(m.group(2))
    args = re.sub(r'\bNULL\b', 'nullptr', m.group(3))
    return (f'emu_launch(dim3({cfg[0]}), dim3({cfg[1]}), '
            f'[_a = std::make_tuple({args})]() mutable {{ '
            f'std::apply([](auto... v) {{ {m.group(1)}(v...); }}, _a); }});')


src = open(sys.argv[1]).read()
src = src.replace('#include "cuda_impl.h"', '#include "emu.h"\n#include "cuda_impl.h"')
src = re.sub(r'(\w+(?:<\w+>)?)<<<(.+?)>>>\(([^;]*)\);', launch, src, flags=re.S)
open(sys.argv[2], 'w').write(src)
