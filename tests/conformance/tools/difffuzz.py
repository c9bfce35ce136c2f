#!/usr/bin/env python3
"""difffuzz -- random scenarios run by the recorder on the real kernel and by
vmplay; report where their outputs differ.

    difffuzz.py [--mode valid|syntax] [--rich] [--class NAME] [--seed N]
                [--count N] [--shrink] [--oracle PATH|host] [--vmplay PATH]
                [--out DIR]

The kernel's side is run by `vmplay host` (the project's own runner on
this machine's kernel, crates/vmhost) or by the recorder built from
shared/recorder/vmsoracle.c (its README says how): `--oracle host` or
`--oracle PATH`. The default is the recorder at /tmp/vmsoracle when
../shared/recorder exists beside the project and that binary is built,
`vmplay host` otherwise. Either needs a machine like the one in FORMAT.md:
Linux x86_64, THP in madvise mode, root. Not run by the tests: the kernel
is the reference here.

--mode valid (default) makes scenarios of well-formed lines in a few
processes, with files and memfds, and compares the whole output: it finds
places where the simulated kernel answers differently. A first line maps a
PROT_NONE page above the arena (a hint, outside it) so that, as in a real
process, the mapping found above an arena address is never the stack.

--rich (valid mode) adds 2 MiB-aligned ranges and MADV_HUGEPAGE, the
other flag advice, mlockall/munlockall and processes that exit.

--class NAME (valid mode) hammers one class of argument shapes that the
plain generator never draws. About a third of the lines are of the class;
the rest are the plain mix over the arena, so the class's lines meet
mapped memory. The classes (`--class list` prints them):

  unaligned  every address not page-aligned: munmap, mprotect, madvise,
             mincore, mlock/munlock, msync, both mremap addresses,
             MAP_FIXED and hints
  hints      mmap without MAP_FIXED: hints in and beside the arena
             (aligned or not, onto mapped and free ranges), `mmap 0`, and
             the placed mapping used afterwards through `$VAR =`
  far        addresses far into the arena, at and across its end, near and
             at the top of user space, in the kernel half
  lengths    4095, 4097, 1 GiB and more, larger than RAM, 2^47, wrapping
             lengths, for every call taking one
  mmapflags  every mmap flag: MAP_SHARED_VALIDATE, GROWSDOWN, STACK,
             NORESERVE, LOCKED, NONBLOCK, 32BIT, SYNC, DROPPABLE, HUGETLB,
             UNINITIALIZED, DENYWRITE, EXECUTABLE; a missing or double
             mapping type; unknown bits; hugetlb mappings with
             MAP_NORESERVE (made despite the empty pool) for the other
             lines to cut, move and touch
  prot       PROT_EXEC alone, W|X, RWX, PROT_WRITE alone, PROT_SEM and
             PROT_GROWSDOWN/UP, with `exec` of what is mapped
  files      more than three files, file offsets beyond 4K (aligned or
             not), offsets and sizes near 1 GiB and 2^63, pread/pwrite/
             ftruncate at big positions
  msync      every combination of MS_ASYNC, MS_SYNC, MS_INVALIDATE
  mremap     MREMAP_FIXED without MAYMOVE, DONTUNMAP with FIXED or alone,
             unaligned and huge lengths, old length 0
  mlockall   mlockall 0, MCL_ONFAULT, CURRENT|FUTURE and every other mix,
             then mappings made after it
  procs      exec, close, p1 exiting, more than five forks, names reused
             after an exit
  fill       fills of length 0, 4095/4097 and across several mappings
             and holes
  mapcount   near vm.max_map_count: each scenario starts a few map slots
             below the limit (`# map-slots N`, its first line, passed to
             both sides as `--map-slots N`; N mostly 1..9, sometimes
             0 or up to 40) and draws the calls whose rules depend on
             it: mmap, munmap of a middle or an edge, MAP_FIXED over a
             middle, mprotect/mlock/madvise splits and ranges that merge
             into a neighbour instead, mremap shrinks, grows, moves and
             new addresses, fork, hugetlb mappings (MAP_NORESERVE),
             ranges over several mappings, mlockall/munlockall

--shrink reduces each differing scenario to the fewest lines that still
differ (delta debugging over lines, then one line at a time; a candidate
counts only when the recorder runs it to the end) and writes it as
N.min.vms beside the original.

--mode syntax makes scenarios full of malformed lines and compares only
which line stops the run and the operation of each line before it (the
MESSAGE of `LINE error MESSAGE` is free text): it checks the parser.

Each differing scenario is written to DIR (default /tmp/difffuzz) as N.vms
with the two outputs beside it (N.oracle, N.vmplay). A line the recorder
refuses (exit 4: it would reach outside the arena) is dropped and the
scenario run again; scenarios still refused after eight such drops are
skipped. Exit status 1 when any differed.
"""
import argparse
import os
import random
import re
import subprocess
import sys

OFF = ["0", "4K", "8K", "12K", "16K", "20K", "28K", "1M", "2M"]
LEN = ["4K", "8K", "12K", "16K", "1", "5000", "0", "2M"]
PROT = ["PROT_READ", "PROT_READ|PROT_WRITE", "PROT_NONE", "PROT_READ|PROT_EXEC", "PROT_WRITE"]
MAPF = [
    "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
    "MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED",
    "MAP_PRIVATE|MAP_FIXED",
    "MAP_SHARED|MAP_FIXED",
    "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE",
    "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_POPULATE",
    "MAP_SHARED|MAP_FIXED|MAP_POPULATE",
]
MADV = [
    "MADV_DONTNEED", "MADV_FREE", "MADV_WILLNEED", "MADV_DONTFORK", "MADV_DOFORK",
    "MADV_WIPEONFORK", "MADV_NORMAL", "MADV_REMOVE", "MADV_POPULATE_READ",
    "MADV_POPULATE_WRITE", "MADV_COLD", "MADV_PAGEOUT", "MADV_GUARD_INSTALL", "MADV_GUARD_REMOVE",
]
MREMAPF = ["0", "MREMAP_MAYMOVE", "MREMAP_MAYMOVE|MREMAP_FIXED", "MREMAP_MAYMOVE|MREMAP_DONTUNMAP"]
# --rich adds these: huge pages, the flag advice, locking the whole space,
# processes that exit.
RICH_MADV = [
    "MADV_HUGEPAGE", "MADV_NOHUGEPAGE", "MADV_KEEPONFORK", "MADV_RANDOM", "MADV_SEQUENTIAL",
    "MADV_DONTDUMP", "MADV_DODUMP", "MADV_DONTNEED_LOCKED", "MADV_MERGEABLE", "MADV_UNMERGEABLE",
    "MADV_COLLAPSE",
]
RICH_OFF = ["2M", "4M", "6M"]
RICH_LEN = ["2M", "4M", "2M+4K"]


# --class: argument shapes the plain generator never draws. Each class is a
# function (R, st) -> line or None; `st` is the scenario's state (processes,
# descriptors, placed-mapping variables).
UNAL = ["1", "0x800", "4095", "4097", "0xfff", "2049"]
PLACED_LEN = ["4K", "8K", "16K", "4095", "4097", "1"]
HUGE_LEN = ["4095", "4097", "1G", "1G+4K", "2G", "16G", "32G", "64G", "128G", "0x800000000000",
            "0x7fffffffffff", "0xfffffffffffff000", "0xffffffffffffffff", "0x8000000000000000",
            "0x1000000000000", "64G+1"]
# Addresses far into the arena and across its end, beyond the top of user
# space, in the kernel half and low in memory: nothing is mapped at any of
# them in either process, so every call may use them.
FAR = ["$arena+63G", "$arena+0xffffff000", "$arena+64G", "$arena+64G+4K", "$arena+32G", "$arena+1G",
       "$arena+63G+2M", "0x800000000000", "0x800000001000", "0xffff800000000000", "0xfffffffffffff000",
       "0x10000", "0x1000", "0xfff", "0x100000000", "0x40000000"]
# Just below the top of user space the scenario's process has mappings of
# its own (the simulator a stack, the recorder whatever its runtime put
# there), outside the arena and outside the format's contract: these are
# only used where the kernel answers before looking (hints, MAP_FIXED,
# ranges that cross TASK_SIZE).
TOP = ["0x7ffffffff000", "0x7fffffffe000", "0x7ffffffff001", "0x7fffffff0000", "0x7ffffffff800"]
ANON = "MAP_PRIVATE|MAP_ANONYMOUS"
EXTRA_MAPF = ["MAP_SHARED_VALIDATE", "MAP_GROWSDOWN", "MAP_STACK", "MAP_NORESERVE", "MAP_LOCKED",
              "MAP_NONBLOCK", "MAP_32BIT", "MAP_SYNC", "MAP_DROPPABLE", "MAP_HUGETLB", "MAP_POPULATE",
              "MAP_UNINITIALIZED", "MAP_DENYWRITE", "MAP_EXECUTABLE", "MAP_FIXED_NOREPLACE"]
TYPES = ["MAP_PRIVATE", "MAP_SHARED", "MAP_SHARED_VALIDATE", "MAP_DROPPABLE", "MAP_PRIVATE|MAP_SHARED",
         "MAP_SHARED|MAP_SHARED_VALIDATE", "MAP_PRIVATE|MAP_DROPPABLE", "0"]
PROTS = ["PROT_EXEC", "PROT_WRITE|PROT_EXEC", "PROT_READ|PROT_WRITE|PROT_EXEC", "PROT_WRITE",
         "PROT_READ|PROT_EXEC", "PROT_SEM", "PROT_READ|PROT_SEM", "PROT_READ|PROT_GROWSDOWN",
         "PROT_READ|PROT_WRITE|PROT_GROWSUP", "PROT_NONE", "PROT_READ|PROT_WRITE"]
MSF = ["0", "MS_ASYNC", "MS_SYNC", "MS_INVALIDATE", "MS_ASYNC|MS_SYNC", "MS_ASYNC|MS_INVALIDATE",
       "MS_SYNC|MS_INVALIDATE", "MS_ASYNC|MS_SYNC|MS_INVALIDATE"]
MREMAP_ALL = ["0", "MREMAP_MAYMOVE", "MREMAP_FIXED", "MREMAP_DONTUNMAP", "MREMAP_MAYMOVE|MREMAP_FIXED",
              "MREMAP_MAYMOVE|MREMAP_DONTUNMAP", "MREMAP_FIXED|MREMAP_DONTUNMAP",
              "MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP"]
MCL = ["0", "MCL_CURRENT", "MCL_FUTURE", "MCL_ONFAULT", "MCL_CURRENT|MCL_FUTURE",
       "MCL_CURRENT|MCL_ONFAULT", "MCL_FUTURE|MCL_ONFAULT", "MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT"]
BIGPOS = ["8K", "12K", "1M", "0x3ffff000", "1G", "1G+4K", "16T", "0x7fffffffffff000", "0x7ffffffffffff000",
          "0x8000000000000000", "0xfffffffffffff000", "0xffffffffffffffff", "4097", "6K"]


def _arena(R):
    return "$arena+" + R.choice(OFF)


# (offset, length) pairs that stay inside the first page of a placed
# mapping: past its end lies the process's own memory, outside the format's
# contract.
IN_PAGE = [("", "4K"), ("", "1"), ("+1", "4095"), ("+4095", "1"), ("+0x800", "0x800"), ("", "4095")]


def _placed(R, st):
    """An address and a length inside the first page of a mapping the
    kernel placed, when there is one; else an arena address and 4K."""
    if st["placed"] and R.random() < 0.7:
        o, n = R.choice(IN_PAGE)
        v = R.choice(st["placed"])
        st["last"] = v
        return v + o, n
    st["last"] = None
    return _arena(R), "4K"


def _fd(R, st):
    return R.choice(["-1"] + st["fds"])


def c_unaligned(R, st):
    a = lambda: _arena(R) + "+" + R.choice(UNAL)
    ln = R.choice(LEN)
    k = R.randint(0, 10)
    if k == 0:
        return f"mmap {a()} {ln} {R.choice(PROT)} {R.choice(MAPF)} {_fd(R, st)} 0"
    if k == 1:
        return f"mmap {a()} {ln} {R.choice(PROT)} {R.choice([ANON, 'MAP_SHARED|MAP_ANONYMOUS', 'MAP_PRIVATE'])} {_fd(R, st)} 0"
    if k == 2:
        return f"munmap {a()} {ln}"
    if k == 3:
        return f"mprotect {a()} {ln} {R.choice(PROT)}"
    if k == 4:
        return f"madvise {a()} {ln} {R.choice(MADV)}"
    if k == 5:
        return f"mincore {a()} {R.choice(['4K', '16K', '1'])}"
    if k == 6:
        return f"{R.choice(['mlock', 'munlock'])} {a()} {ln}"
    if k == 7:
        return f"msync {a()} {ln} {R.choice(['MS_SYNC', 'MS_ASYNC', 'MS_INVALIDATE'])}"
    if k == 8:
        return f"mremap {a()} {ln} {R.choice(LEN)} {R.choice(MREMAPF)} {_arena(R)}"
    if k == 9:
        return f"mremap {_arena(R)} {ln} {R.choice(LEN)} {R.choice(MREMAPF)} {a()}"
    return f"mremap {a()} {ln} {R.choice(LEN)} MREMAP_MAYMOVE|MREMAP_FIXED {a()}"


def c_hints(R, st):
    k = R.randint(0, 5)
    if k <= 2:
        v = f"$h{len(st['placed'])}"
        st["placed"].append(v)
        hint = R.choice(["0", "0", _arena(R), _arena(R) + "+" + R.choice(UNAL), "1", "4K", "0x10000",
                         "$arena+64G", "0x7ffffffff000", "0x200000000000", "$arena+2M+1"])
        # A file mapping only with a file: a failed mmap's $VAR is an
        # error value, which MAP_FIXED would take for an error
        # (IS_ERR_VALUE in __get_unmapped_area; see FIDELITY.md).
        typ = R.choice([ANON, ANON, "MAP_SHARED|MAP_ANONYMOUS"] + (["MAP_PRIVATE", "MAP_SHARED"] if st["fds"] else []))
        fd = R.choice(st["fds"]) if st["fds"] and "ANON" not in typ else _fd(R, st)
        return f"{v} = mmap {hint} {R.choice(PLACED_LEN + ['2M', '4M'])} {R.choice(PROT)} {typ} {fd} 0"
    a, n = _placed(R, st)
    line = R.choice([
        f"store {a} {R.randint(0, 255)}", f"load {a}", f"munmap {a} {n}",
        f"mprotect {a} {n} {R.choice(PROT)}", f"mincore {a} {n}",
        f"madvise {a} {n} {R.choice(MADV)}",
        f"mremap {a} {n} {R.choice(['4K', '1'])} {R.choice(MREMAPF)} {_arena(R)}",
        f"mremap {_arena(R)} {n} {n} MREMAP_MAYMOVE|MREMAP_FIXED {a}",
        f"mmap {a} {n} PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0",
        f"fill {a} 1 {R.randint(0, 255)}", f"mlock {a} {n}", f"msync {a} {n} MS_SYNC"])
    # Once unmapped or moved, the kernel may put anything there: the
    # variable is not used again.
    if st["last"] and line.split()[0] in ("munmap", "mremap") and line.split()[1].startswith(st["last"]):
        st["placed"].remove(st["last"])
    return line


def c_far(R, st):
    a = R.choice(FAR)
    ln = R.choice(["4K", "8K", "2M", "1", "0"])
    if R.random() < 0.3:
        t = R.choice(TOP)
        cross = R.choice(["0x11000", "0x10001", "2M", "1G"])  # reaches past TASK_SIZE from any TOP
        return R.choice([
            f"mmap {t} {R.choice(['4K', '8K', '2M', '1'])} {R.choice(PROT)} {ANON} -1 0",
            f"mmap {t} {cross} {R.choice(PROT)} {R.choice([ANON + '|MAP_FIXED', ANON + '|MAP_FIXED_NOREPLACE'])} -1 0",
            f"munmap {t} {cross}", f"mremap {_arena(R)} 4K {cross} MREMAP_MAYMOVE|MREMAP_FIXED {t}"])
    return R.choice([
        f"mmap {a} {ln} {R.choice(PROT)} {R.choice([ANON, ANON + '|MAP_FIXED', ANON + '|MAP_FIXED_NOREPLACE'])} -1 0",
        f"munmap {a} {ln}", f"mprotect {a} {ln} {R.choice(PROT)}", f"madvise {a} {ln} {R.choice(MADV)}",
        f"mincore {a} {ln}", f"mlock {a} {ln}", f"munlock {a} {ln}", f"msync {a} {ln} MS_SYNC",
        f"mremap {a} {ln} {R.choice(LEN)} {R.choice(MREMAPF)} {_arena(R)}",
        f"mremap {_arena(R)} {ln} {ln} MREMAP_MAYMOVE|MREMAP_FIXED {a}",
        f"load {a}",
        f"mmap $arena+{R.choice(['63G', '0xffffe000+63G', '0xfffff000+63G'])} {R.choice(['4K', '8K', '16K', '2M'])} PROT_READ|PROT_WRITE {ANON}|MAP_FIXED -1 0",
        f"store $arena+{R.choice(['63G', '0xfffff000+63G'])} 1"])


def c_lengths(R, st):
    ln = R.choice(HUGE_LEN)
    a = _arena(R)
    k = R.randint(0, 11)
    if k <= 2:
        return f"mmap {R.choice([a, '0'])} {ln} {R.choice(PROT)} {R.choice(MAPF + [ANON, 'MAP_SHARED|MAP_ANONYMOUS', ANON + '|MAP_NORESERVE'])} {_fd(R, st)} 0"
    return R.choice([
        f"munmap {a} {ln}", f"mprotect {a} {ln} {R.choice(PROT)}", f"madvise {a} {ln} {R.choice(MADV)}",
        f"mincore {a} {R.choice(['4095', '4097', '1G', '0xfffffffffffff000'])}",
        f"mlock {a} {ln}", f"munlock {a} {ln}", f"msync {a} {ln} MS_SYNC",
        f"mremap {a} {R.choice(LEN + HUGE_LEN)} {ln} {R.choice(MREMAPF)} {_arena(R)}",
        f"mremap {a} {ln} {R.choice(LEN)} {R.choice(MREMAPF)} {_arena(R)}"])


def c_mmapflags(R, st):
    if R.random() < 0.3:
        # hugetlb without a reservation, which the empty pool lets through:
        # a mapping that every other line may then cut, move and touch.
        typ = R.choice(["MAP_PRIVATE", "MAP_SHARED", "MAP_SHARED_VALIDATE"])
        extra = R.sample(["MAP_LOCKED", "MAP_POPULATE", "MAP_STACK", "MAP_NONBLOCK"], R.randint(0, 1))
        fixed = R.choice(["|MAP_FIXED", "|MAP_FIXED", "", "|MAP_FIXED_NOREPLACE"])
        f = "|".join([typ, "MAP_HUGETLB", "MAP_NORESERVE", "MAP_ANONYMOUS"] + extra) + fixed
        a = "$arena+" + R.choice(["0", "0", "2M", "2M", "1M", "4K"])
        ln = R.choice(["1", "4K", "2M", "2M+4K", "4M"])
        return f"mmap {a} {ln} {R.choice(PROT)} {f} -1 {R.choice(['0', '0', '2M', '4K'])}"
    typ = R.choice(TYPES)
    extra = R.sample(EXTRA_MAPF, R.randint(0, 2))
    fixed = R.choice(["|MAP_FIXED", "|MAP_FIXED", "", "|MAP_FIXED_NOREPLACE"])
    anon = R.choice(["|MAP_ANONYMOUS", "|MAP_ANONYMOUS", ""])
    f = "|".join([typ] + extra) + anon + fixed
    if R.random() < 0.05:
        f += "|MAP_FIXED"  # a doubled bit
    ln = R.choice(["4K", "8K", "16K", "2M", "4M", "1"])
    return f"mmap {_arena(R)} {ln} {R.choice(PROT)} {f} {_fd(R, st)} {R.choice(['0', '0', '4K'])}"


def c_prot(R, st):
    p = R.choice(PROTS)
    a = _arena(R)
    k = R.randint(0, 5)
    if k <= 1:
        return f"mmap {a} {R.choice(LEN)} {p} {R.choice(MAPF)} {_fd(R, st)} 0"
    if k == 2:
        return f"mprotect {a} {R.choice(LEN)} {p}"
    if k == 3:
        return f"store {a} 195"
    return f"exec {a}"


def c_files(R, st):
    k = R.randint(0, 6)
    if k == 0 and len(st["fds"]) < 8:
        v = f"$f{len(st['fds'])}"
        st["fds"].append(v)
        return f"{v} = {R.choice(['open', 'memfd'])} e{len(st['fds'])} {R.choice(['8K', '16K', '5000', '1M', '0', '1', '64K'])}"
    if not st["fds"]:
        return None
    f = R.choice(st["fds"])
    off = R.choice(BIGPOS + ["0", "4K"])
    if k <= 2:
        return f"mmap {_arena(R)} {R.choice(LEN + ['1G', '0x8000000000000000'])} {R.choice(PROT)} {R.choice(MAPF + ['MAP_PRIVATE', 'MAP_SHARED'])} {f} {off}"
    return R.choice([f"pread {f} {off}", f"pwrite {f} {off} 9", f"ftruncate {f} {off}",
                     f"ftruncate {f} {R.choice(['8K', '4K', '0', '1G', '2G'])}"])


def c_msync(R, st):
    return f"msync {_arena(R)} {R.choice(LEN)} {R.choice(MSF)}"


def c_mremap(R, st):
    a = _arena(R)
    n = _arena(R)
    if R.random() < 0.3:
        n += "+" + R.choice(UNAL)
    old = R.choice(LEN + ["4095", "4097", "1G", "0xfffffffffffff000"])
    new = R.choice(LEN + ["4095", "4097", "1G", "64G", "0xfffffffffffff000"])
    return f"mremap {a} {old} {new} {R.choice(MREMAP_ALL)} {R.choice([n, n, '0'])}"


def c_mlockall(R, st):
    if R.random() < 0.5:
        return R.choice([f"mlockall {R.choice(MCL)}", "munlockall"])
    return f"mmap {_arena(R)} {R.choice(LEN)} {R.choice(PROT)} {R.choice(MAPF + [ANON])} {_fd(R, st)} 0"


def c_procs(R, st):
    k = R.randint(0, 5)
    p = R.choice(st["procs"])
    pre = "" if p == "p1" else p + ": "
    if k == 0:
        free = [f"p{i}" for i in range(2, 13) if f"p{i}" not in st["procs"]]
        if free:
            n = free[0] if R.random() < 0.7 else R.choice(free)
            st["procs"].append(n)
            st["ever"].add(n)
            return pre + f"fork {n}"
    if k == 1 and len(st["procs"]) > 1:
        st["procs"].remove(p)
        return pre + "exit"
    if k == 2 and st["fds"]:
        return pre + f"close {R.choice(st['fds'])}"
    if k == 3:
        return pre + f"exec {_arena(R)}"
    return None


def c_fill(R, st):
    return f"fill {_arena(R)} {R.choice(['0', '0', '4095', '4097', '12K', '16K', '32K', '40K', '1M', '2M+1'])} {R.randint(0, 255)}"


# mapcount: mappings of a few sizes at a few places, cut and changed at
# their edges and middles, so that splits, cuts and merges meet the limit.
MC_AT = ["0", "4K", "8K", "12K", "16K", "1M", "1M+4K", "1M+8K", "2M", "2M+4K", "2M+12K", "4M",
         "4M+4K", "4M+8K", "8M", "8M+4K"]
MC_LEN = ["4K", "4K", "4K", "8K", "8K", "12K", "16K", "1M", "2M", "4M", "3M", "8M+8K"]
MC_PROT = ["PROT_READ", "PROT_READ|PROT_WRITE", "PROT_NONE"]
MC_MADV = ["MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_NORMAL", "MADV_DONTFORK", "MADV_DOFORK",
           "MADV_WIPEONFORK", "MADV_KEEPONFORK", "MADV_DONTDUMP", "MADV_DODUMP", "MADV_HUGEPAGE",
           "MADV_NOHUGEPAGE", "MADV_DONTNEED", "MADV_WILLNEED", "MADV_GUARD_INSTALL"]
MC_MREMAP = ["0", "MREMAP_MAYMOVE", "MREMAP_MAYMOVE|MREMAP_FIXED", "MREMAP_MAYMOVE|MREMAP_FIXED",
             "MREMAP_MAYMOVE|MREMAP_DONTUNMAP", "MREMAP_MAYMOVE|MREMAP_DONTUNMAP|MREMAP_FIXED"]


def map_slots(R):
    """The free map slots a mapcount scenario starts with (the first line,
    a hint mapping above the arena, takes one)."""
    if R.random() < 0.85:
        return R.randint(1, 9)
    return R.choice([0, 12, 16, 24, 40])


def c_mapcount(R, st):
    p = R.choice(st["procs"])
    pre = "" if p == "p1" else p + ": "
    a = lambda: "$arena+" + R.choice(MC_AT)
    ln = lambda: R.choice(MC_LEN)
    k = R.randint(0, 12)
    if k == 0 and R.random() < 0.3:
        # hugetlb without a reservation: split only at 2 MiB boundaries,
        # the map count checked first.
        return pre + (f"mmap $arena+{R.choice(['0', '2M', '4M', '8M'])} {R.choice(['2M', '4M'])} {R.choice(MC_PROT)} "
                      f"MAP_PRIVATE|MAP_HUGETLB|MAP_NORESERVE|MAP_ANONYMOUS|MAP_FIXED -1 0")
    if k <= 2:
        typ = R.choice([ANON, ANON, ANON, "MAP_SHARED|MAP_ANONYMOUS"] + (["MAP_PRIVATE", "MAP_SHARED"] if st["fds"] else []))
        fd = R.choice(st["fds"]) if st["fds"] and "ANON" not in typ else "-1"
        fixed = R.choice(["|MAP_FIXED", "|MAP_FIXED", "|MAP_FIXED", "|MAP_FIXED_NOREPLACE"])
        return pre + f"mmap {a()} {ln()} {R.choice(MC_PROT)} {typ}{fixed} {fd} {R.choice(['0', '0', '4K'])}"
    if k == 3:
        return pre + f"munmap {a()} {ln()}"
    if k in (4, 5):
        return pre + f"mprotect {a()} {ln()} {R.choice(MC_PROT)}"
    if k == 6:
        return pre + f"{R.choice(['mlock', 'munlock'])} {a()} {ln()}"
    if k == 7:
        return pre + f"madvise {a()} {ln()} {R.choice(MC_MADV)}"
    if k in (8, 9):
        return pre + f"mremap {a()} {ln()} {ln()} {R.choice(MC_MREMAP)} {a()}"
    if k == 10:
        free = [f"p{i}" for i in range(2, 8) if f"p{i}" not in st["ever"]]
        if free:
            st["procs"].append(free[0])
            st["ever"].add(free[0])
            return pre + f"fork {free[0]}"
    if k == 11 and R.random() < 0.3:
        # Locking whole entries merges neighbours that differed only there.
        return pre + R.choice(["mlockall MCL_CURRENT", "mlockall MCL_FUTURE", "mlockall MCL_CURRENT|MCL_ONFAULT",
                               "munlockall", "munlockall"])
    return pre + f"store {a()} {R.randint(0, 255)}"


CLASSES = {
    "unaligned": c_unaligned, "hints": c_hints, "far": c_far, "lengths": c_lengths,
    "mmapflags": c_mmapflags, "prot": c_prot, "files": c_files, "msync": c_msync,
    "mremap": c_mremap, "mlockall": c_mlockall, "procs": c_procs, "fill": c_fill,
    "mapcount": c_mapcount,
}


def valid_scenario(R, rich=False, cls=None):
    procs, fds = ["p1"], []
    ever = {"p1"}  # a name is never used again after its process exits
    st = {"procs": procs, "fds": fds, "placed": [], "ever": ever}
    off = OFF + RICH_OFF if rich else OFF
    lens = LEN + RICH_LEN if rich else LEN
    madv = MADV + RICH_MADV if rich else MADV

    def addr():
        return "$arena+" + R.choice(off)

    def line():
        if cls and R.random() < 0.4:
            got = CLASSES[cls](R, st)
            if got is not None:
                return got if got.split()[0].endswith(":") or "p1" in procs else None
        p = R.choice(procs)
        pre = "" if p == "p1" else p + ": "
        k = R.randint(0, 20)
        fd = R.choice(["-1"] + fds)
        if k <= 3:
            return pre + f"mmap {addr()} {R.choice(lens)} {R.choice(PROT)} {R.choice(MAPF)} {fd} {R.choice(['0', '4K'])}"
        if k == 4:
            return pre + f"munmap {addr()} {R.choice(lens)}"
        if k == 5:
            return pre + f"mprotect {addr()} {R.choice(lens)} {R.choice(PROT)}"
        if k == 6:
            return pre + f"madvise {addr()} {R.choice(lens)} {R.choice(madv)}"
        if k == 7:
            return pre + f"mincore {addr()} {R.choice(['4K', '16K', '32K'])}"
        if k == 8:
            return pre + f"{R.choice(['mlock', 'munlock'])} {addr()} {R.choice(lens)}"
        if k == 9:
            return pre + f"msync {addr()} {R.choice(lens)} {R.choice(['MS_SYNC', 'MS_ASYNC', 'MS_INVALIDATE'])}"
        if k == 10:
            return pre + f"mremap {addr()} {R.choice(lens)} {R.choice(lens)} {R.choice(MREMAPF)} {addr()}"
        if k in (11, 12):
            return pre + f"load {addr()}+{R.choice(['0', '1', '4095'])}"
        if k in (13, 14):
            return pre + f"store {addr()} {R.randint(0, 255)}"
        if k == 15:
            return pre + f"fill {addr()} {R.choice(['1', '4K', '9000'])} {R.randint(0, 255)}"
        if k == 16:
            for n in ["p2", "p3", "p4", "p5", "p6"]:
                if n not in ever:
                    procs.append(n)
                    ever.add(n)
                    return pre + f"fork {n}"
        if k == 17 and fds:
            f = R.choice(fds)
            return pre + R.choice([
                f"pread {f} {R.choice(OFF)}",
                f"pwrite {f} {R.choice(OFF)} 7",
                f"ftruncate {f} {R.choice(lens)}",
            ])
        if k == 18 and len(fds) < 3:
            v = f"$f{len(fds)}"
            fds.append(v)
            return pre + f"{v} = {R.choice(['open', 'memfd'])} d{len(fds)} {R.choice(['8K', '16K', '5000'])}"
        if rich and k == 19:
            return pre + R.choice(["mlockall MCL_CURRENT", "mlockall MCL_FUTURE", "munlockall"])
        if rich and k == 20 and p != "p1":
            procs.remove(p)
            return pre + "exit"
        return pre + "maps"

    lines = [f"# map-slots {map_slots(R)}"] if cls == "mapcount" else []
    lines += ["mmap 0x400000000000 4K PROT_NONE MAP_PRIVATE|MAP_ANONYMOUS -1 0"]
    n = R.randint(8, 30) if cls == "mapcount" else R.randint(3, 25)
    lines += [l for l in (line() for _ in range(n)) if l is not None]
    lines += [("" if p == "p1" else p + ": ") + "maps" for p in procs]
    return "\n".join(lines) + "\n"


EXPR = ["0", "1", "4K", "8K", "16K", "2M", "$arena", "$arena+4K", "$arena+8K", "$a", "$a+4K", "$b", "$f",
        "$arena+1", "0x1000", "0X1000", "K", "0x", "12z", "0xfffffffffffff000", "18446744073709551616",
        "$arena+", "+4K", "$", "$9", "$arena+$a", "0x300000000000", "4k", "1KK", "$g", "007", "0xABCK"]
FLAGS = ["0", "00", "0x0", "0K", "1", "PROT_READ", "PROT_READ|PROT_WRITE", "PROT_READ|0", "PROT_EXEC",
         "PROT_RAED", "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED", "MAP_SHARED|MAP_FIXED",
         "MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED", "MAP_PRIVATE|MAP_FIXED", "MAP_ANON|MAP_PRIVATE|MAP_FIXED_NOREPLACE",
         "MADV_DONTNEED", "MADV_FREE", "MS_SYNC", "MS_ASYNC|MS_SYNC", "MCL_CURRENT", "MREMAP_MAYMOVE",
         "MREMAP_MAYMOVE|MREMAP_FIXED", "PROT_READ|", "|MAP_SHARED", "MAP_FIXED||MAP_SHARED", "prot_read", "$a"]
SIGS = {"mmap": "eeffde", "munmap": "ee", "mprotect": "eef", "madvise": "eef", "mincore": "ee", "mlock": "ee",
        "munlock": "ee", "mlockall": "f", "munlockall": "", "msync": "eef", "mremap": "eeef?e", "load": "e",
        "store": "eb", "fill": "eeb", "fork": "P", "exit": "", "open": "ne", "memfd": "ne", "pread": "de",
        "pwrite": "deb", "ftruncate": "de", "close": "d", "maps": ""}
POOLS = {"e": EXPR, "f": FLAGS, "d": ["-1", "$f", "$g", "$a", "$", "3", "-2", "$arena"],
         "n": ["data.bin", "x", "a-b_c.d", ".", "..", "a/b", "bad*", "d2"],
         "b": ["0", "1", "255", "256", "0xff", "0x100", "1K", "0K", "K", "$a", "-1"],
         "P": ["p1", "p2", "p3", "p0", "p01", "q1", "p2:", "p10"]}


def syntax_scenario(R):
    def line():
        r = R.random()
        if r < 0.04:
            return ""
        if r < 0.07:
            return "# comment " + R.choice(["x", "load 1"])
        op = R.choice(list(SIGS) + ["frob", "MMAP", "$x=", "="])
        sig = SIGS.get(op, "")
        args = [R.choice(POOLS[k]) for k in sig if k != "?"]
        if "?" in sig and R.random() < 0.5:
            args = args[:-1]
        if R.random() < 0.08 and args:
            args = args[:-1]
        if R.random() < 0.05:
            args.append(R.choice(EXPR))
        if R.random() < 0.02:
            args += ["1"] * 14
        toks = []
        if R.random() < 0.3:
            toks.append(R.choice(["p1:", "p2:", "p3:", "p0:", ":", "p2::", "P1:"]))
        if R.random() < 0.35:
            toks += [R.choice(["$a", "$b", "$f", "$g", "$arena", "$1", "$"]), "="]
        s = R.choice([" ", "  ", "\t", " \t "]).join(toks + [op] + args)
        if R.random() < 0.1:
            s += "   # trailing"
        if R.random() < 0.05:
            s += "\r"
        return s

    lines = []
    if R.random() < 0.7:
        lines.append("$a = mmap $arena 16K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0")
    if R.random() < 0.5:
        lines.append("$f = open data.bin 8K")
    lines += [line() for _ in range(R.randint(1, 12))]
    return "\n".join(lines) + ("\n" if R.random() < 0.9 else "")


def heads(out):
    """LINE OP (or LINE error) of each result line."""
    return [" ".join(l.split()[:2]) for l in out.splitlines() if not l.startswith("  ")]


SLOTS = re.compile(r"# map-slots (\d+)\n")


def run_both(a, path):
    """(oracle, vmplay) CompletedProcess of one scenario file."""
    with open(path) as f:
        m = SLOTS.match(f.read())
    slots = ["--map-slots", m.group(1)] if m else []
    if slots and a.oracle != "host":
        sys.exit("difffuzz: the mapcount class needs --oracle host (the recorder has no --map-slots)")
    cmd = [a.vmplay, "host"] + slots + [path] if a.oracle == "host" else [a.oracle, path]
    # (vmplay host holds the swap lock shared itself, so that no swap area
    # of a concurrent swap run is seen by a version-1 scenario.)
    o = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    # --check: the simulator's invariants after every line too; a broken
    # one exits 3 and counts as a difference.
    # A run over 120 s counts as a difference (exit status 124).
    try:
        v = subprocess.run([a.vmplay, "run", "--check"] + slots + [path], capture_output=True, text=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        v = subprocess.CompletedProcess([], 124, "", "vmplay: timed out\n")
    return o, v


def agree(a, o, v):
    if a.mode == "valid":
        return o.stdout == v.stdout and o.returncode == v.returncode
    return heads(o.stdout) == heads(v.stdout) and o.returncode == v.returncode


def shrink(a, lines, path):
    """The fewest lines (by removing chunks, then single lines) that still
    differ with the recorder running to the end; a first `# map-slots N`
    line stays."""
    head = lines[:1] if lines and lines[0].startswith("# map-slots") else []
    lines = lines[len(head):]

    def differs(ls):
        with open(path, "w") as f:
            f.write("\n".join(head + ls) + "\n")
        o, v = run_both(a, path)
        return o.returncode == 0 and not agree(a, o, v)

    n = 2
    while len(lines) >= 2:
        chunk = max(1, len(lines) // n)
        cut = False
        for i in range(0, len(lines), chunk):
            cand = lines[:i] + lines[i + chunk:]
            if cand and differs(cand):
                lines, n, cut = cand, max(n - 1, 2), True
                break
        if not cut:
            if chunk == 1:
                break
            n = min(len(lines), n * 2)
    return head + lines


def default_oracle():
    """The recorder when shared/ is beside the project and it is built,
    else `vmplay host`."""
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.path.normpath(os.path.join(here, "..", "..", "..", "..", "shared", "recorder"))
    if os.path.isdir(shared) and os.access("/tmp/vmsoracle", os.X_OK):
        return "/tmp/vmsoracle"
    return "host"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["valid", "syntax"], default="valid")
    ap.add_argument("--rich", action="store_true",
                    help="valid mode: also huge pages, flag advice, mlockall, exit")
    ap.add_argument("--class", dest="cls", choices=sorted(CLASSES) + ["list"],
                    help="valid mode: hammer one class of argument shapes")
    ap.add_argument("--shrink", action="store_true", help="minimise each difference to N.min.vms")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--oracle", default=default_oracle(),
                    help="the recorder's path, or 'host' for `vmplay host` (default: %(default)s)")
    ap.add_argument("--vmplay", default="target/release/vmplay")
    ap.add_argument("--out", default="/tmp/difffuzz")
    a = ap.parse_args()
    if a.cls == "list":
        print(" ".join(sorted(CLASSES)))
        return 0
    R = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "current.vms")
    same = differ = skipped = 0
    for i in range(a.count):
        s = valid_scenario(R, a.rich, a.cls) if a.mode == "valid" else syntax_scenario(R)
        with open(path, "w") as f:
            f.write(s)
        o, v = run_both(a, path)
        # A line the recorder refuses (it would reach outside the arena) is
        # dropped and the scenario run again, a few times at most.
        for _ in range(8):
            m = re.search(r"line (\d+): refused", o.stderr)
            if o.returncode != 4 or not m:
                break
            ls = s.splitlines()
            del ls[int(m.group(1)) - 1]
            s = "\n".join(ls) + "\n"
            with open(path, "w") as f:
                f.write(s)
            o, v = run_both(a, path)
        if o.returncode not in (0, 2):
            skipped += 1
            continue
        if agree(a, o, v):
            same += 1
            continue
        differ += 1
        for ext, t in (("vms", s), ("oracle", o.stdout), ("vmplay", v.stdout + v.stderr)):
            with open(os.path.join(a.out, f"{i}.{ext}"), "w") as f:
                f.write(t)
        if a.shrink and o.returncode == 0:
            m = shrink(a, s.splitlines(), path)
            with open(os.path.join(a.out, f"{i}.min.vms"), "w") as f:
                f.write("\n".join(m) + "\n")
    os.remove(path)
    print(f"{same} same, {differ} differ, {skipped} refused by the recorder (outputs in {a.out})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
