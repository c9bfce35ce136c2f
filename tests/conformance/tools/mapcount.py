#!/usr/bin/env python3
"""mapcount -- compare the simulator with the kernel near vm.max_map_count.

usage: mapcount.py [--vmplay PATH] [--seed N] [--count N] [--out DIR]

A process may hold at most vm.max_map_count VMAs (65,530 here). Reaching
that takes some 65,000 mappings, so each scenario starts with that many
filler lines (`mmap` of one page every other page, far into the arena)
and then runs the lines under test. The two sides start from different
counts: the process of `vmplay host` holds mappings of its own (program,
libraries, heap, stack; about 30), the simulator's only its stack. The
script first measures both (it maps pages until mmap fails, on each side)
and gives each side as many fillers as bring it to the same distance from
the limit, so that the lines under test meet the limit at the same point.

It then runs the fixed probes (each rule of vm/split.rs at and around the
limit) and --count random scenarios (mprotect, madvise, mlock, munmap,
mmap, mremap and mlockall over three mappings, from six below the limit
to one above), and prints how many agreed. The filler lines and the
fillers' lines of `maps` are left out of the comparison. `maps` near the
limit may fail on the host (`maps ?`: `vmplay host` cannot allocate the
buffer to read /proc/self/maps when its process has no map slot left);
such scenarios are counted apart and compared up to that line.

Needs Linux x86_64 and root, as `vmplay host` does; a scenario takes
about two seconds. Exit status 1 when any differed.

`difffuzz.py --class mapcount` does the same without the filler lines
(`vmplay host --map-slots N` makes the fillers in its own process, `vmplay
run --map-slots N` lowers the simulator's limit); this tool stays as the
check made with real lines.
"""
import argparse
import os
import random
import subprocess
import sys

FIX = "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED"
FILLER_AT = 0x300800000000  # $arena+32G: the fillers (512 MiB), whose maps lines start 0x3008


def filler(i):
    return f"mmap $arena+32G+{2 * i * 4096} 4K PROT_READ {FIX} -1 0"


def run(a, side, lines):
    path = os.path.join(a.out, f"current.{side}.vms")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    cmd = [a.vmplay, "host" if side == "host" else "run", path]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout


def baseline(a, side, limit):
    """The mappings a side's process holds before the scenario: mmap fails
    once the count is past the limit (`do_mmap`), at line limit - B + 2."""
    out = run(a, side, [filler(i) for i in range(limit + 8)])
    for line in out.splitlines():
        n, _, rest = line.partition(" ")
        if rest.startswith("mmap -ENOMEM"):
            return limit + 2 - int(n)
    sys.exit(f"mapcount: {side}: mmap never failed; is the limit {limit}?")


def tail(out, first):
    """The result lines from line `first` on, renumbered, without the
    fillers' lines of `maps`."""
    res = []
    for line in out.splitlines():
        n, _, rest = line.partition(" ")
        if n.isdigit():
            if int(n) >= first:
                res.append(f"{int(n) - first + 1} {rest}")
        elif res and not line.strip().startswith(hex(FILLER_AT)[:6]):
            res.append(line)
    return res


def scenario(a, side, base, pre, tests, delta):
    """pre: lines that each make one mapping; the count before `tests` is
    the limit + delta."""
    n = a.limit + delta - base[side] - len(pre)
    lines = pre + [filler(i) for i in range(n)]
    return tail(run(a, side, lines + tests), len(lines) + 1)


PRE = [f"mmap $arena 4M PROT_READ|PROT_WRITE {FIX} -1 0", f"mmap $arena+4M 16K PROT_NONE {FIX} -1 0",
       "mmap $arena+8M 2M PROT_READ MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED -1 0"]

PROBES = [
    (0, ["mmap $arena+12M 4K PROT_READ " + FIX + " -1 0", "mmap $arena+14M 4K PROT_READ " + FIX + " -1 0"]),
    (0, ["mprotect $arena+8K 4K PROT_NONE", "mprotect $arena 4K PROT_NONE", "mprotect $arena+4092K 4K PROT_NONE",
         "madvise $arena+4088K 4K MADV_RANDOM", "mlock $arena+4088K 4K", "maps"]),
    (-1, ["mprotect $arena+8K 4K PROT_NONE", "mprotect $arena+16K 4K PROT_NONE", "maps"]),
    (0, ["munmap $arena+8K 4K", "munmap $arena 4K", "mmap $arena+8K 4K PROT_READ " + FIX + " -1 0",
         "mmap $arena+4K 4K PROT_READ " + FIX + " -1 0", "maps"]),
    (1, ["munmap $arena+8K 4K", "munmap $arena 4K", "mmap $arena+12M 4K PROT_READ " + FIX + " -1 0",
         "madvise $arena+1M 4K MADV_NORMAL"]),
] + [(d, [line]) for d in (-6, -5, -4, -3, -2, -1, 0) for line in (
    "mremap $arena+2M 2M 2M MREMAP_MAYMOVE|MREMAP_FIXED $arena+12M",
    "mremap $arena 1M 2M MREMAP_MAYMOVE",
    "mremap $arena+1M 1M 4K 0",
    "mremap $arena 4M 8M 0",
    "mremap $arena 2M 2M MREMAP_MAYMOVE|MREMAP_FIXED $arena+1M")]


def random_tests(R):
    ad = lambda: "$arena+" + R.choice(["0", "4K", "8K", "1M", "2M", "4M", "4M+4K", "4M+16K", "8M", "8M+4K", "9M"])
    ln = lambda: R.choice(["4K", "8K", "12K", "1M", "2M", "4M"])
    prot = lambda: R.choice(["PROT_READ", "PROT_READ|PROT_WRITE", "PROT_NONE"])
    t = []
    for _ in range(R.randint(3, 8)):
        k = R.randint(0, 7)
        if k == 0:
            t.append(f"mprotect {ad()} {ln()} {prot()}")
        elif k == 1:
            adv = R.choice(["MADV_RANDOM", "MADV_NORMAL", "MADV_DONTFORK", "MADV_DOFORK", "MADV_DONTDUMP",
                            "MADV_HUGEPAGE", "MADV_DONTNEED", "MADV_WILLNEED"])
            t.append(f"madvise {ad()} {ln()} {adv}")
        elif k == 2:
            t.append(f"{R.choice(['mlock', 'munlock'])} {ad()} {ln()}")
        elif k == 3:
            t.append(f"munmap {ad()} {ln()}")
        elif k == 4:
            t.append(f"mmap {ad()} {ln()} {prot()} {FIX} -1 0")
        elif k == 5:
            fl = R.choice(["0", "MREMAP_MAYMOVE", "MREMAP_MAYMOVE|MREMAP_FIXED", "MREMAP_MAYMOVE|MREMAP_DONTUNMAP"])
            t.append(f"mremap {ad()} {ln()} {ln()} {fl} $arena+{R.choice(['12M', '16M', '1M'])}")
        elif k == 6:
            t.append(R.choice(["mlockall MCL_CURRENT", "munlockall", "mlockall MCL_FUTURE"]))
        else:
            t.append(f"load {ad()}")
    return t + ["maps"]


def compare(h, s):
    """'same', 'same-until-maps' (the host's maps failed) or 'differ'."""
    if h == s:
        return "same"
    hl = [x for x in h if x[:1].isdigit()]
    sl = [x for x in s if x[:1].isdigit()]
    for x, y in zip(hl, sl):
        if x != y:
            return "same-until-maps" if x.endswith(" maps ?") else "differ"
    return "differ"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--vmplay", default="target/release/vmplay")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--out", default="/tmp/mapcount")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open("/proc/sys/vm/max_map_count") as f:
        a.limit = int(f.read())
    base = {side: baseline(a, side, a.limit) for side in ("host", "sim")}
    print(f"vm.max_map_count {a.limit}; mappings before the scenario: host {base['host']}, simulator {base['sim']}")
    R = random.Random(a.seed)
    todo = [(d, t) for d, t in PROBES] + [(R.choice([-6, -5, -4, -3, -2, -1, -1, 0, 0, 0, 1]), random_tests(R))
                                          for _ in range(a.count)]
    tally = {"same": 0, "same-until-maps": 0, "differ": 0}
    for i, (delta, tests) in enumerate(todo):
        h = scenario(a, "host", base, PRE, tests, delta)
        s = scenario(a, "sim", base, PRE, tests, delta)
        v = compare(h, s)
        tally[v] += 1
        if v == "differ":
            with open(os.path.join(a.out, f"{i}.txt"), "w") as f:
                f.write(f"count before the tests: limit{delta:+d}\n" + "\n".join(tests) + "\n\nhost:\n"
                        + "\n".join(h) + "\n\nsimulator:\n" + "\n".join(s) + "\n")
    print(f"{len(PROBES)} probes and {a.count} random scenarios: {tally['same']} same, "
          f"{tally['same-until-maps']} same up to a `maps` the host could not read, "
          f"{tally['differ']} differ (in {a.out})")
    return 1 if tally["differ"] else 0


if __name__ == "__main__":
    sys.exit(main())
