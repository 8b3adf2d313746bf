#!/usr/bin/env bash
# Builds and runs scripts/bench/gemv-reference.c (needs gcc and an AVX-512 x86-64 CPU) and prints its
# JSON: the decode step's one-row products streamed by a plain two-thread AVX-512 loop, per shape and
# for one token's 33 products, against a 512 MiB read probe, in 5 rounds. Compare with
# `npm run tessera -- bench products --json` run just before or after it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
gcc -O3 -march=native -pthread -o "$dir/gemv-reference" "$here/gemv-reference.c"
"$dir/gemv-reference"
