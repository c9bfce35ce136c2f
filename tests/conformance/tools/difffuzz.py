#!/usr/bin/env python3
"""difffuzz -- random scenarios run by the recorder on the real kernel and by
vmplay; report where their outputs differ.

    difffuzz.py [--mode valid|syntax] [--rich] [--seed N] [--count N]
                [--oracle PATH] [--vmplay PATH] [--out DIR]

Needs the recorder built from shared/recorder/vmsoracle.c (its README says
how) on a machine like the one in FORMAT.md: Linux x86_64, THP in madvise
mode, root. Not run by the tests: the kernel is the reference here.

--mode valid (default) makes scenarios of well-formed lines in a few
processes, with files and memfds, and compares the whole output: it finds
places where the simulated kernel answers differently. A first line maps a
PROT_NONE page above the arena (a hint, outside it) so that, as in a real
process, the mapping found above an arena address is never the stack.

--rich (valid mode) adds 2 MiB-aligned ranges and MADV_HUGEPAGE, the
other flag advice, mlockall/munlockall and processes that exit.

--mode syntax makes scenarios full of malformed lines and compares only
which line stops the run and the operation of each line before it (the
MESSAGE of `LINE error MESSAGE` is free text): it checks the parser.

Each differing scenario is written to DIR (default /tmp/difffuzz) as N.vms
with the two outputs beside it (N.oracle, N.vmplay). Scenarios the recorder
refuses (exit 4) are skipped. Exit status 1 when any differed.
"""
import argparse
import os
import random
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


def valid_scenario(R, rich=False):
    procs, fds = ["p1"], []
    ever = {"p1"}  # a name is never used again after its process exits
    off = OFF + RICH_OFF if rich else OFF
    lens = LEN + RICH_LEN if rich else LEN
    madv = MADV + RICH_MADV if rich else MADV

    def addr():
        return "$arena+" + R.choice(off)

    def line():
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

    lines = ["mmap 0x400000000000 4K PROT_NONE MAP_PRIVATE|MAP_ANONYMOUS -1 0"]
    lines += [line() for _ in range(R.randint(3, 25))]
    lines += ["maps"] + [p + ": maps" for p in procs[1:]]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["valid", "syntax"], default="valid")
    ap.add_argument("--rich", action="store_true",
                    help="valid mode: also huge pages, flag advice, mlockall, exit")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--oracle", default="/tmp/vmsoracle")
    ap.add_argument("--vmplay", default="target/release/vmplay")
    ap.add_argument("--out", default="/tmp/difffuzz")
    a = ap.parse_args()
    R = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "current.vms")
    same = differ = skipped = 0
    for i in range(a.count):
        s = valid_scenario(R, a.rich) if a.mode == "valid" else syntax_scenario(R)
        with open(path, "w") as f:
            f.write(s)
        o = subprocess.run([a.oracle, path], capture_output=True, text=True, timeout=120)
        if o.returncode not in (0, 2):
            skipped += 1
            continue
        # --check: the simulator's invariants after every line too; a broken
        # one exits 3 and counts as a difference.
        v = subprocess.run([a.vmplay, "run", "--check", path], capture_output=True, text=True, timeout=120)
        if a.mode == "valid":
            ok = o.stdout == v.stdout and o.returncode == v.returncode
        else:
            ok = heads(o.stdout) == heads(v.stdout) and o.returncode == v.returncode
        if ok:
            same += 1
            continue
        differ += 1
        for ext, t in (("vms", s), ("oracle", o.stdout), ("vmplay", v.stdout + v.stderr)):
            with open(os.path.join(a.out, f"{i}.{ext}"), "w") as f:
                f.write(t)
    os.remove(path)
    print(f"{same} same, {differ} differ, {skipped} refused by the recorder (outputs in {a.out})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
