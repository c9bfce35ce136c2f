# vmplay -- the commands in the README.
#
#   make serve   set up, build, serve the playground on http://127.0.0.1:8000
#                (PORT=N make serve for another port; Ctrl-C stops it)
#   make test    set up, then run every test suite and print a summary
#
#   make setup   install what is missing (idempotent, ~4 min cold, <1 s warm)
#   make build   release wasm into www/pkg, web/ copied to www/web, vmplay CLI
#   make dist    the npm package: dist/vmplay-VERSION.tgz (docs/embedding.md)
#   make bench   criterion benchmarks of vmcore, the browser and wasm benchmarks,
#                then the speed table (host kernel, native, wasm in Node and Chromium)
#   make fmt     cargo fmt
#   make lint    cargo fmt --check and clippy with warnings denied
#   make clean   remove build outputs (not the installed tools)
#
# The real work is in scripts/ so each step can also be run on its own.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# cargo-installed tools (wasm-pack, wasm-bindgen) live in cargo's bin folder.
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)
PORT ?= 8000

.PHONY: help setup build serve test bench clean fmt lint dist

help:
	@sed -n '3,14p' Makefile | sed 's/^# \{0,1\}//'

setup:
	@bash scripts/setup.sh

build: setup
	@bash scripts/build.sh

# The playground needs only the wasm module and the site, not the CLI.
serve: setup
	@bash scripts/build.sh wasm site
	@node scripts/serve.mjs --port $(PORT) www

test: setup
	@bash scripts/test.sh

# The npm package (element, wasm, CSS, scenarios, types), packed with npm pack.
dist: setup
	@bash scripts/build.sh wasm site
	@bash scripts/dist.sh

bench: setup
	cargo bench -p vmcore --benches
	@if [ -f tests/e2e/bench.mjs ]; then \
	    bash scripts/build.sh wasm site && \
	    { node tests/e2e/bench.mjs; s=$$?; node tests/bench/pressure-wasm.mjs; exit $$s; }; \
	fi
	node tests/bench/speed.mjs

fmt:
	cargo fmt --all

# Not part of `test`: most swap cases fail until the kernel side lands.

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	cargo clean
	rm -rf www/pkg www/web test-results dist
