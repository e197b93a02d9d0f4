#!/usr/bin/env bash
# make install: writes only under DESTDIR (run as nobody, so a write
# anywhere else fails), exactly the expected files; PREFIX moves the unit's
# paths with it; the unit passes systemd-analyze verify; the man pages
# render without warnings and carry each tool's options and exit statuses;
# bash completion completes options from --help.
. "$(dirname "$0")/../lib.sh"
cd "$NSFLUSH_ROOT" || exit 2
build=${NSFLUSH_BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chown 65534:65534 "$tmp"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# make install's prerequisites (all, man) are built already: as nobody it
# can only write into $tmp/root.
out=$(nobody make -s install BUILD="$build" DESTDIR="$tmp/root" PREFIX=/usr 2>&1)
rc=$?
expect_eq "make install DESTDIR PREFIX=/usr as nobody: exit 0" 0 "$rc"
[ $rc = 0 ] || echo "$out" | tail -n 5 | sed 's/^/  /'
want="etc/default/nsflushd
lib/systemd/system/nsflushd.service
usr/lib/modules-load.d/nsflush.conf
usr/sbin/nsflush-audit
usr/sbin/nsflush-flush
usr/sbin/nsflushd
usr/share/bash-completion/completions/nsflush-audit
usr/share/bash-completion/completions/nsflush-flush
usr/share/bash-completion/completions/nsflushd
usr/share/man/man8/nsflush-audit.8
usr/share/man/man8/nsflush-flush.8
usr/share/man/man8/nsflushd.8
usr/share/nsflush/grafana/nsflush.json
usr/share/nsflush/prometheus/nsflush.rules.yml"
expect_eq "make install: the files, nothing else" "$want" \
	"$(cd "$tmp/root" 2>/dev/null && find . -type f | sed 's|^\./||' | sort)"
expect_eq "make install: the unit runs /usr/sbin/nsflushd with /etc/default/nsflushd" \
	"ExecStart=/usr/sbin/nsflushd \$NSFLUSHD_OPTS EnvironmentFile=-/etc/default/nsflushd" \
	"$(grep -h '^ExecStart=' "$tmp/root/lib/systemd/system/nsflushd.service") $(grep -h '^EnvironmentFile=' "$tmp/root/lib/systemd/system/nsflushd.service")"

# PREFIX without DESTDIR, as a local install would: the unit follows it,
# and it is a unit systemd accepts (with its binaries where it says).
out=$(nobody make -s install BUILD="$build" PREFIX="$tmp/local" 2>&1)
expect_eq "make install PREFIX=DIR: exit 0" 0 "$?"
unit=$tmp/local/lib/systemd/system/nsflushd.service
expect_eq "make install PREFIX=DIR: the unit's paths follow it" \
	"ExecStart=$tmp/local/sbin/nsflushd \$NSFLUSHD_OPTS EnvironmentFile=-$tmp/local/etc/default/nsflushd" \
	"$(grep -h '^ExecStart=' "$unit") $(grep -h '^EnvironmentFile=' "$unit")"
out=$(systemd-analyze verify --man=no "$unit" 2>&1)
expect_eq "systemd-analyze verify nsflushd.service: exit 0, nothing to say" "0 " "$? $out"
exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
	sed -n 's/.*Overall exposure level for nsflushd.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ] && [ "${exposure%.*}" -lt 4 ]; then
	pass "systemd-analyze security: exposure $exposure (below 4: a BPF daemon needs CAP_SYS_ADMIN)"
else
	fail "systemd-analyze security" "exposure '$exposure'"
fi

# Man pages: from --help, so every option and exit status is there.
for t in nsflushd nsflush-audit nsflush-flush; do
	page=$tmp/root/usr/share/man/man8/$t.8
	warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	expect_eq "man $t: renders without warnings" "" "$warn"
	text=$(MANWIDTH=200 man -l "$page" 2>/dev/null | col -b)
	missing=
	for o in $("$build/$t" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$o" <<<"$text" || missing+=" $o"
	done
	expect_eq "man $t: every option of --help" "" "$missing"
	grep -q "^NAME" <<<"$text" && grep -q "Exit status" <<<"$text" && grep -q "^SEE ALSO" <<<"$text" &&
		grep -q "nsflush $(nsf_version)" <<<"$text"
	expect_eq "man $t: NAME, exit statuses, SEE ALSO, the version" 0 "$?"
done

# Completion, through bash-completion as an interactive shell loads it.
complete_words() {	# WORDS...: what TAB offers for the last word
	bash -c '. /usr/share/bash-completion/bash_completion
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_nsflush "$1" "${!#}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
		_ "$tmp/root/usr/share/bash-completion/completions/nsflushd" "$@"
}
PATH=$NSFLUSH_ROOT/$build:$PATH
expect_eq "completion: nsflushd --mo<TAB>" "--mode " "$(complete_words nsflushd --mo)"
expect_eq "completion: nsflushd --mode <TAB>" "audit enforce flush " "$(complete_words nsflushd --mode '')"
expect_eq "completion: nsflush-audit --j<TAB>" "--json " "$(complete_words nsflush-audit --j)"
finish
