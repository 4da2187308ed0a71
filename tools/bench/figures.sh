# shellcheck shell=bash
# Sourced by the benchmark scripts: reading wsload's summary lines and reducing runs.
# field KEY LINE: the value of key=value in a wsload summary line.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2; exit}'; }
# median: of the numbers on stdin, one a line ("n/a" for none).
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# ratio A B: A / B as "1.23x", or "n/a" when B is not a positive number.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0 && a != "n/a") printf "%.2fx", a / b; else print "n/a"}'; }
