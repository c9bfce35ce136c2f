// The host kernel's side of `make bench` (tests/bench/speed.mjs): the same
// workloads as the simulator's (crates/vmcli/examples/speed.rs and
// tests/bench/speedcore.mjs), done with the real system calls and loads of
// this machine's own Linux kernel. One workload per run.
//
//   host w1 ITERS          mmap 64 KiB anon, store to its 16 pages, munmap  -> ns/iter
//   host fork MIB FORKS    fork of a process with MIB MiB touched; the child
//                          stores 1 byte per 2 MiB and exits               -> us/fork
//   host w3 LOADS          random byte loads over 64 MiB resident          -> ns/load
//   host w4 N ITERS        one-page mmap+munmap beside N mappings          -> ns/pair
//
// Prints `RESULT <value> <unit>`. Built by speed.mjs with `cc -O2`.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static long arg(int argc, char **argv, int i, long d) { return argc > i ? atol(argv[i]) : d; }
static char *anon(size_t len) {
    char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    double t0;
    if (!strcmp(mode, "w1")) {
        long iters = arg(argc, argv, 2, 100000);
        t0 = now();
        for (long i = 0; i < iters; i++) {
            char *p = anon(65536);
            for (int j = 0; j < 16; j++) ((volatile char *)p)[j * 4096] = 1;
            munmap(p, 65536);
        }
        printf("RESULT %.1f ns/iter\n", (now() - t0) / iters * 1e9);
    } else if (!strcmp(mode, "fork")) {
        size_t sz = (size_t)arg(argc, argv, 2, 64) << 20;
        long forks = arg(argc, argv, 3, 50);
        char *m = anon(sz);
        memset(m, 1, sz);
        t0 = now();
        for (long i = 0; i < forks; i++) {
            pid_t p = fork();
            if (p == 0) {
                for (size_t o = 0; o < sz; o += 2 << 20) ((volatile char *)m)[o] = 2;
                _exit(0);
            }
            waitpid(p, 0, 0);
        }
        printf("RESULT %.1f us/fork\n", (now() - t0) / forks * 1e6);
    } else if (!strcmp(mode, "w3")) {
        size_t sz = 64 << 20;
        char *m = anon(sz);
        memset(m, 1, sz);
        uint64_t x = 88172645463325252ull;
        volatile unsigned s = 0;
        long n = arg(argc, argv, 2, 10000000);
        t0 = now();
        for (long i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            s += ((volatile char *)m)[x & (sz - 1)];
        }
        printf("RESULT %.2f ns/load\n", (now() - t0) / n * 1e9);
    } else if (!strcmp(mode, "w4")) {
        long n = arg(argc, argv, 2, 16), it = arg(argc, argv, 3, 200000);
        char *base = (char *)0x300000000000ull;
        for (long k = 0; k < n; k++)
            if (mmap(base + (size_t)k * 8192, 4096, (k & 1) ? PROT_READ : PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) { perror("mmap"); return 1; }
        t0 = now();
        for (long i = 0; i < it; i++) {
            char *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            munmap(p, 4096);
        }
        printf("RESULT %.1f ns/pair\n", (now() - t0) / it * 1e9);
    } else {
        fprintf(stderr, "usage: host w1|fork|w3|w4 ...\n");
        return 1;
    }
    return 0;
}
