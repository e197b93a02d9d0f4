#!/bin/bash
# The VM lab hands CMD's exit status and output back to the host.
. "$(dirname "$0")/../lib.sh"
K=${NSFLUSH_VM_TEST_KERNEL:-debian-6.12}

status() { vm "$K" -- "$@" >/dev/null 2>&1; echo $?; }
expect_eq "run-exit-true" 0 "$(status true)"
expect_eq "run-exit-false" 1 "$(status false)"
expect_eq "run-exit-7" 7 "$(status sh -c 'exit 7')"

# Arguments arrive intact (spaces, quotes) and lines end in \n, not \r\n.
out=$(vm "$K" -- printf '%s|\n' "a b" "it's" '$HOME' 2>/dev/null)
expect_eq "run-args-quoting" "a b|it's|\$HOME|" "$(printf '%s\n' "$out" | grep -F '|' | tr -d '\n')"

# Usage errors fail before booting, with the lab's own status.
"$NSFLUSH_ROOT/tests/vm/run" -- true >/dev/null 2>&1
expect_eq "run-usage-error" 125 "$?"
finish
