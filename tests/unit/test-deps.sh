#!/usr/bin/env bash
# tests/deps (make deps, the first step of make check, make demo, .ci/run):
# quiet and 0 when every package is there; as non-root with one missing,
# one line naming it and the apt-get command, exit 1, nothing installed.
# The missing package is played by a dpkg-query that denies it.
. "$(dirname "$0")/../lib.sh"

out=$("$NSFLUSH_ROOT/tests/deps" 2>&1)
expect_eq "deps: everything installed: silent, exit 0" "0 " "$? $out"

fake=$(mktemp -d)
chmod 755 "$fake"	# nobody runs from it
trap 'rm -rf "$fake"' EXIT
cat > "$fake/dpkg-query" <<'EOT'
#!/bin/sh
for a; do p=$a; done
[ "$p" = libjudy-dev ] && exit 1
exec /usr/bin/dpkg-query "$@"
EOT
chmod +x "$fake/dpkg-query"
if command -v setpriv > /dev/null; then
	out=$(PATH="$fake:$PATH" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$NSFLUSH_ROOT/tests/deps" 2>&1)
	rc=$?
	expect_eq "deps: one missing, not root: one line naming it, exit 1" \
		"1 1 nsflush: missing packages (as root: apt-get install libjudy-dev)" \
		"$rc $(echo "$out" | wc -l) $out"
else
	skip "deps: one missing, not root" "no setpriv"
fi
finish
