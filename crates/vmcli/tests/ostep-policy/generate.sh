#!/bin/sh
# Regenerate the extra fixtures from OSTEP's own program:
#   ./generate.sh PATH/TO/paging-policy.py
# (remzi-arpacidusseau/ostep-homework, vm-beyondphys-policy/, commit
# 4b15aadb of 2020-05-30; run with python3). Each NN-name.txt is the command
# line, then the complete standard output; a name with -exit1 is a run
# Python ends with status 1. Run from this directory: -f paths are relative.
# Words are separated by single spaces: the test splits on white space.
set -u
prog=${1:?usage: ./generate.sh PATH/TO/paging-policy.py}
while read -r name args; do
    [ -z "$name" ] && continue
    {
        echo "\$ python3 paging-policy.py $args"
        # shellcheck disable=SC2086
        python3 "$prog" $args 2>/dev/null
    } > "$name.txt"
done <<'LIST'
03-opt-readme -a 0,1,2,0,1,3,0,3,1,2,1 -p OPT -C 3 -c
05-fifo-belady-C4 -a 1,2,3,4,1,2,5,1,2,3,4,5 -p FIFO -C 4 -c
06-lru-belady-C4 -a 1,2,3,4,1,2,5,1,2,3,4,5 -p LRU -C 4 -c
09-rand-seed0 -s 0 -n 20 -p RAND -c
10-clock-b1-seed1 -s 1 -n 30 -m 6 -p CLOCK -b 1 -C 3 -c
12-unopt-seed2-C4 -s 2 -n 25 -p UNOPT -C 4 -c
13-mru-seed3 -s 3 -n 20 -p MRU -c
14-opt-seed4-C5-m12 -s 4 -n 40 -m 12 -p OPT -C 5 -c
15-lru-seed5-notrace -s 5 -n 30 -p LRU -N -c
16-rand-seed1-C2 -s 1 -n 25 -p RAND -C 2 -c
17-clock-b0-seed7 -s 7 -n 30 -p CLOCK -b 0 -c
18-clock-b3-seed6-C5 -s 6 -n 50 -p CLOCK -b 3 -C 5 -c
19-clock-b-octal -s 12 -n 30 -p CLOCK -b 010 -C 4 -c
20-clock-b-hex -s 13 -n 30 -p CLOCK -b 0x4 -C 4 -c
21-clock-b-negative -s 4 -n 20 -p CLOCK -b -1 -c
22-rand-seed-wider-than-64-bits -s 12345678901234567890123 -n 30 -p RAND -c
23-rand-negative-seed -s -7 -n 30 -p RAND -c
24-question-opt-seed3 -p OPT -s 3 -n 5
25-question-unknown-policy -p LFU -n 4
26-unknown-policy-exit1 -p LFU -c
27-long-options --addresses=0,1,2,0,1,3,0,3,1,2,1 --policy=LRU --cachesize=2 --compute
28-abbreviated-long-options --addresse 0,1,2,0,1,3 --pol MRU --cache 2 --comp
29-clustered-short-options -cC2 -pLRU -a1,2,3,1,4,2
30-clustered-notrace -cNC2 -s 9 -n 15
31-cache-negative-never-fills -C -1 -s 2 -n 15 -c
32-cache-zero-exit1 -C 0 -c
33-no-accesses-exit1 -n 0 -c
34-no-accesses-question -n 0
35-bad-address-question-exit1 -a 1,2,x,3
36-bad-address-solve-exit1 -a 1,2,x,3 -c
37-opt-lookahead-meets-bad-address-exit1 -a 1,2,3,4,x,1 -p OPT -C 3 -c
38-negative-pages -a -3,-3,4,-12,5,-3 -p LRU -c
39-negative-maxpage -m -5 -n 12 -c
40-wide-pages -m 1000000 -n 10 -C 5 -p RAND -s 21 -c
41-address-file -f addrs/mixed-newlines.txt -p LRU -c
42-address-file-question -f addrs/mixed-newlines.txt
43-address-file-blank-line-exit1 -f addrs/blank-line.txt -c
44-address-file-wins-over-a -f addrs/mixed-newlines.txt -a 1,2,3 -p OPT -c
45-bad-numaddrs-exit1 -n ten -c
46-positional-words-ignored foo -c bar -- -N
47-underscores-in-numbers -a 1_0,0_1,1_0 -s 1_000 -c
48-help -h
49-lru-long-run -s 8 -n 100 -m 20 -C 5 -p LRU -c
50-rand-addresses-given -a 1,2,3,4,5,1,2,3,4,5 -p RAND -s 11 -c
51-mru-readme -a 0,1,2,0,1,3,0,3,1,2,1 -p MRU -C 3 -c
52-unopt-readme -a 0,1,2,0,1,3,0,3,1,2,1 -p UNOPT -C 3 -c
53-clock-seed0-C3-default-bits -s 0 -n 30 -p CLOCK -c
54-cache-bigger-than-pages -s 3 -n 20 -m 4 -C 6 -p CLOCK -c
55-opt-seed10-notrace -s 10 -n 60 -m 15 -C 6 -p OPT -N -c
LIST
