#!/usr/bin/env bash
# Every tool says its version (debian/changelog's, the one the textfile's
# nsflush_build_info and the module carry) with --version, exit 0, and lists the option
# in --help. On the host: nothing here needs root or a kernel.
. "$(dirname "$0")/../lib.sh"

want=$(nsf_version)
for tool in nsflushd nsflush-audit nsflush-flush; do
	for b in build build/static; do
		bin=$NSFLUSH_ROOT/$b/$tool
		out=$("$bin" --version 2>&1)
		expect_eq "$b/$tool --version: '$tool $want', exit 0" "$tool $want 0" "$out $?"
	done
	expect_eq "$tool --help lists --version" 1 \
		"$("$NSFLUSH_ROOT/build/$tool" --help | grep -c -- '--version')"
done
finish
