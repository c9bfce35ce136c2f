#!/usr/bin/env python3
"""swapfuzz -- random swap scenarios (FORMAT-v2-swap.md): kernel and vmplay.

Each scenario is run on the real kernel and by vmplay; the script reports
where they differ.

    swapfuzz.py [--class pageout|fork|pressure|memcg|all] [--seed N] [--count N]
                [--oracle PATH|host] [--vmplay PATH] [--out DIR] [--runs N]

The kernel's side is run by `vmplay host` (the project's own runner on this
machine's kernel, crates/vmhost) or by the recorder built from
shared/recorder/vmsoracle.c (its README says how): `--oracle host` or
`--oracle PATH`. The default is the recorder at /tmp/vmsoracle when
../shared/recorder exists beside the project and that binary is built,
`vmplay host` otherwise. Either needs the machine of FORMAT-v2-swap.md:
root, /dev/zram0 free, no swap on, zswap off, vm.page-cluster 3, the cgroup
v1 memory controller with swap accounting; both take the same lock, so
they never run a swap scenario at the same time. Not run by the tests: the
kernel is the reference here.

A scenario the kernel itself does not answer the same way twice (--runs,
default 2) is set aside as unsteady, not counted as a difference: the
recorder records a version-2 case only when ten runs agree.

Classes:

  pageout   MADV_PAGEOUT, MADV_COLD, MADV_WILLNEED, MADV_FREE and
            MADV_DONTNEED over private anonymous, shared anonymous and
            memfd memory, faults back in, small swap areas that fill up,
            swapoff and swapon again, pagemap/smaps/swapped/faults/mincore
  fork      the same after fork: swap entries shared by several
            processes, the swap cache, readahead windows, exits
  pressure  memlimit: reclaim and the OOM killer under a memory limit
  memcg     one process, private mappings of 32 to 256 pages under limits
            of 1 to 4 MiB: reclaim counts pass by pass (not in `all`; no
            fork, since the recorder's own processes cost the cgroup tens
            of pages each that the simulator does not model: FIDELITY.md)
"""

import argparse
import os
import random
import subprocess
import sys

from difffuzz import default_oracle

PAGE = 4096
ARENA = "$arena"

RW = "PROT_READ|PROT_WRITE"
PRIV = "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED"
SHARED = "MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED"
ADVICE = ["MADV_PAGEOUT"] * 5 + ["MADV_COLD", "MADV_WILLNEED", "MADV_WILLNEED",
                                  "MADV_FREE", "MADV_DONTNEED"]


class Gen:
    def __init__(self, rng, cls):
        self.r = rng
        self.cls = cls
        self.lines = []
        self.maps = []      # (offset, pages, kind)
        self.procs = ["p1"]
        self.next_proc = 2
        self.swap_on = False
        self.memfds = 0

    def emit(self, s):
        self.lines.append(s)

    def region(self):
        """A mapped range (offset, pages) or a sub-range of one."""
        off, pages, _ = self.r.choice(self.maps)
        a = self.r.randrange(pages)
        b = self.r.randrange(a, pages) + 1
        return off + a * PAGE, (b - a) * PAGE

    def proc(self):
        return self.r.choice(self.procs)

    def pre(self, p):
        return "" if p == "p1" else p + ": "

    def new_mapping(self):
        # Mappings at distinct 1 MiB slots of the arena, so they never touch.
        slot = len(self.maps)
        if slot >= 6:
            return
        off = slot << 20
        if self.cls == "memcg":
            pages = self.r.choice([32, 64, 128, 192, 256, 256])
            kind = "priv"
        else:
            pages = self.r.choice([1, 2, 4, 8, 16, 16, 32, 64])
            kind = self.r.choice(["priv"] * 4 + ["shared", "memfd"])
        addr = f"{ARENA}+{off}" if off else ARENA
        if kind == "priv":
            self.emit(f"mmap {addr} {pages * 4}K {RW} {PRIV} -1 0")
        elif kind == "shared":
            self.emit(f"mmap {addr} {pages * 4}K {RW} {SHARED} -1 0")
        else:
            self.memfds += 1
            v = f"m{self.memfds}"
            self.emit(f"${v} = memfd mf{self.memfds} {pages * 4}K")
            self.emit(f"mmap {addr} {pages * 4}K {RW} MAP_SHARED|MAP_FIXED ${v} 0")
        self.maps.append((off, pages, kind))

    def at(self, off):
        return f"{ARENA}+{off}" if off else ARENA

    def step(self):
        r = self.r
        p = self.proc()
        x = self.pre(p)
        k = r.random()
        if not self.maps or k < 0.06:
            self.new_mapping()
        elif k < 0.28:
            off, ln = self.region()
            self.emit(f"{x}fill {self.at(off)} {ln} {r.randrange(1, 256):#x}")
        elif k < 0.36:
            off, ln = self.region()
            self.emit(f"{x}store {self.at(off + r.randrange(ln))} {r.randrange(256):#x}")
        elif k < 0.48:
            off, ln = self.region()
            self.emit(f"{x}load {self.at(off + r.randrange(ln))}")
        elif k < 0.66:
            off, ln = self.region()
            self.emit(f"{x}madvise {self.at(off)} {ln} {r.choice(ADVICE)}")
        elif k < 0.72:
            off, ln = self.region()
            self.emit(f"{x}pagemap {self.at(off & ~(PAGE - 1))} {((ln + PAGE - 1) // PAGE) * PAGE}")
        elif k < 0.75:
            self.emit("swapped")
        elif k < 0.77:
            self.emit(f"{x}faults")
        elif k < 0.79:
            self.emit(f"{x}smaps")
        elif k < 0.81:
            off, ln = self.region()
            self.emit(f"{x}mincore {self.at(off)} {ln}")
        elif k < 0.83:
            off, ln = self.region()
            self.emit(f"{x}mlock {self.at(off)} {ln}")
            if r.random() < 0.7:
                self.emit(f"{x}munlock {self.at(off)} {ln}")
        elif k < 0.85:
            off, ln = self.region()
            self.emit(f"{x}mprotect {self.at(off)} {ln} {r.choice(['PROT_READ', RW, 'PROT_NONE', RW])}")
        elif k < 0.87 and self.swap_on and self.cls not in ("pressure", "memcg"):
            self.emit("swapoff")
            self.swap_on = False
            if r.random() < 0.8:
                self.swapon()
        elif k < 0.87:
            self.swapon()
        elif k < 0.95 and self.cls in ("fork", "pressure") and len(self.procs) < 5:
            name = f"p{self.next_proc}"
            self.next_proc += 1
            self.emit(f"{x}fork {name}")
            self.procs.append(name)
        elif k < 0.97 and self.cls in ("fork", "pressure") and len(self.procs) > 1:
            q = r.choice(self.procs[1:])
            self.emit(f"{self.pre(q)}exit")
            self.procs.remove(q)
        elif self.cls == "pressure" and k < 0.99:
            self.emit(f"memlimit {r.choice([2, 3, 4, 6, 8])}M")
        elif self.cls == "memcg" and k < 0.99:
            self.emit(f"memlimit {r.choice([1, 2, 3, 4])}M")
        else:
            self.emit("procs")

    def swapon(self):
        sizes = ["40K", "64K", "128K", "256K", "1M", "16M", "16M"]
        if self.cls == "memcg":
            sizes = ["1M", "16M", "16M", "16M"]
        size = self.r.choice(sizes)
        self.emit(f"swapon {size}")
        self.swap_on = True


def scenario(rng, cls, n):
    g = Gen(rng, cls)
    g.emit(f"# swapfuzz {cls}")
    g.swapon()
    if cls == "pressure":
        g.emit(f"memlimit {rng.choice([3, 4, 6, 8])}M")
    elif cls == "memcg":
        g.emit(f"memlimit {rng.choice([1, 2, 2, 3])}M")
    g.new_mapping()
    for _ in range(n):
        g.step()
    return "\n".join(g.lines) + "\n"


def run(cmd, path):
    try:
        p = subprocess.run(cmd + [path], capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired:
        return 124, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--class", dest="cls", default="all",
                    choices=["pageout", "fork", "pressure", "memcg", "all"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--lines", type=int, default=30)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--oracle", default=default_oracle(),
                    help="the recorder's path, or 'host' for `vmplay host` (default: %(default)s)")
    ap.add_argument("--vmplay", default="target/release/vmplay")
    ap.add_argument("--out", default="/tmp/swapfuzz")
    a = ap.parse_args()
    oracle = [a.vmplay, "host"] if a.oracle == "host" else [a.oracle]
    os.makedirs(a.out, exist_ok=True)
    classes = ["pageout", "fork", "pressure"] if a.cls == "all" else [a.cls]
    total = {c: [0, 0, 0, 0] for c in classes}   # run, differed, unsteady, refused
    for i in range(a.count):
        cls = classes[i % len(classes)]
        rng = random.Random(a.seed * 1_000_003 + i)
        text = scenario(rng, cls, a.lines)
        path = os.path.join(a.out, f"{a.seed}-{i}-{cls}.vms")
        with open(path, "w") as f:
            f.write(text)
        outs = []
        rc = 0
        for _ in range(a.runs):
            rc, o = run(oracle, path)
            outs.append(o)
            if rc not in (0, 2):
                break
        if rc not in (0, 2):
            total[cls][3] += 1
            continue
        if any(o != outs[0] for o in outs):
            total[cls][2] += 1
            continue
        total[cls][0] += 1
        vrc, v = run([a.vmplay, "run", "--check"], path)
        if v != outs[0] or vrc not in (0, 2):
            total[cls][1] += 1
            with open(path[:-4] + ".kernel", "w") as f:
                f.write(outs[0])
            with open(path[:-4] + ".vmplay", "w") as f:
                f.write(v)
            print(f"DIFFER {path} (vmplay exit {vrc})", flush=True)
        else:
            os.remove(path)
    for c, (n, d, u, x) in total.items():
        print(f"{c}: {n} run, {d} differed, {u} unsteady, {x} refused")
    return 1 if any(t[1] for t in total.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
