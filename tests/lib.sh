# Shared by the test scripts (sourced). Each check prints exactly one line:
#   PASS <name> | FAIL <name>: <why> | SKIP <name>: <why>
# tests/run counts those lines; a script's exit status is non-zero if any
# of its checks failed.
NSFLUSH_ROOT=${NSFLUSH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
. "$NSFLUSH_ROOT/tests/kernels.sh"
_failed=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; _failed=1; }
skip() { echo "SKIP $1: $2"; }

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# The version every tool, package and module carries (debian/changelog).
nsf_version() { make -s -C "$NSFLUSH_ROOT" version; }

# field KEY < line: prints the value of KEY=VALUE on the first line that has it
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" | head -n 1; }

# vm KERNEL [run options] -- CMD...: boot the lab, output on stdout
vm() { "$NSFLUSH_ROOT/tests/vm/run" --kernel "$@"; }

finish() { exit "$_failed"; }
