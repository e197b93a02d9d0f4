#!/usr/bin/env bash
# The Prometheus textfile in the lab: nsflushd rewrites it atomically while
# a VMM maps memory; promtool accepts it; a real node_exporter serves the
# nsflush_* metrics without scrape errors; unusable textfile dirs stop the
# daemon with one line; nsflush-audit gets its answers over the socket. On
# each prom kernel (tests/kernels.sh); the dashboard and the alert rules
# are evaluated once, on the first one's textfile.
# Usage: test-prom.sh [BUILD_DIR]   (default build: the checkout's build/)
. "$(dirname "$0")/../lib.sh"

bin=${1:-$NSFLUSH_ROOT/build}
kernels=$(lab_kernels prom)
first=${kernels%%$'\n'*}
for tool in promtool prometheus-node-exporter; do
	if ! command -v "$tool" >/dev/null; then
		skip "prom: $tool" "not installed (apt-get install prometheus prometheus-node-exporter)"
		finish
	fi
done

live=$(mktemp "$NSFLUSH_ROOT/build/tests/prom-live.XXXXXX")
trap 'rm -f "$live"' EXIT
for k in $kernels; do
	: > "$live"
	out=$(vm "$k" -- tests/nsflushd/guest-prom "$bin" "$live" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then fail "$k prom: guest" "exited $rc"; echo "$out" | tail -n 30; continue; fi
	get() { echo "$out" | grep -m1 "^$1: " | field "$2"; }	# get PREFIX KEY
	show() { echo "$out" | grep -E "^($1)" | head -n 20 | sed 's/^/  /'; }

	for c in missing ro file; do
		r=$(get "unwritable-$c" rc)
		if [ -n "$r" ] && [ "$r" -ne 0 ] && [ "$r" -ne 124 ] && [ "$r" -ne 143 ]; then
			pass "$k prom: textfile dir ($c) refused: nsflushd exits $r"
		else
			fail "$k prom: textfile dir ($c) refused" "nsflushd exited '$r'"
		fi
		expect_eq "$k prom: textfile dir ($c) refused with one line" 1 "$(get "unwritable-$c" lines)"
		echo "$out" | grep -m1 "^unwritable-$c-err: " | grep -q 'unwritable textfile dir' ||
			fail "$k prom: textfile dir ($c) message" "$(echo "$out" | grep -m1 "^unwritable-$c-err: ")"
	done

	expect_eq "$k prom: nsflushd ready" 1 "$(get daemon-ready ready)"
	expect_eq "$k prom: node_exporter up" 1 "$(get node-exporter up)"
	pid=$(get workload pid)
	expect_eq "$k prom: workload ok" 0 "$(echo "$out" | grep '^workload: rc=' | field rc)"

	for s in live final; do
		r=$(get "promtool-$s" rc)
		expect_eq "$k prom: promtool check metrics ($s)" 0 "$r"
		[ "$r" = 0 ] || show "promtool-$s-out"
		expect_eq "$k prom: node_exporter scrape ($s)" 0 "$(get "scrape-$s" rc)"
		expect_eq "$k prom: node_textfile_scrape_error ($s)" "node_textfile_scrape_error 0" \
			"$(echo "$out" | sed -n "s/^scrape-$s: \\(node_textfile_scrape_error .*\\)/\\1/p")"
		expect_eq "$k prom: node_exporter serves nsflush_up ($s)" "nsflush_up 1" \
			"$(echo "$out" | sed -n "s/^scrape-$s: \\(nsflush_up .*\\)/\\1/p")"
	done
	expect_eq "$k prom: no helper module loaded: nsflush_module_loaded 0" \
		'nsflush_module_loaded{version=""} 0' \
		"$(echo "$out" | sed -n 's/^scrape-live: \(nsflush_module_loaded.*\)/\1/p')"
	expect_eq "$k prom: node_exporter serves nsflush_build_info and the mode" \
		"nsflush_build_info{version=\"$(nsf_version)\"} 1 nsflush_mode{mode=\"audit\"} 1" \
		"$(echo "$out" | sed -n 's/^scrape-live: \(nsflush_build_info.*\)/\1/p') $(echo "$out" | sed -n 's/^scrape-live: \(nsflush_mode{mode="audit"}.*\)/\1/p')"
	ts=$(echo "$out" | sed -n 's/^scrape-final: nsflush_textfile_timestamp_seconds //p' | awk '{ printf "%.0f", $1 }')
	# (the daemon rewrites it every second: written at most 3 s before the
	# scrape started, or while it ran, slow under TCG)
	now=$(get snap-final start)
	if [ -n "$ts" ] && [ -n "$now" ] && [ $((ts - now)) -le 10 ] && [ $((now - ts)) -le 3 ]; then
		pass "$k prom: nsflush_textfile_timestamp_seconds is fresh (written $((ts - now)) s from the scrape's start)"
	else
		fail "$k prom: nsflush_textfile_timestamp_seconds is fresh" "ts=$ts scrape started at $now"
	fi
	# While the workload holds its 64 MiB, the textfile and node_exporter show
	# them for its pid (node_exporter prints floats: 6.7108864e+07).
	num() { awk '{ printf "%.0f", $1 }'; }
	scraped() { echo "$out" | sed -n "s/^scrape-$1: $2{[^}]*pid=\"$pid\"[^}]*} //p" | num; }
	expect_eq "$k prom: textfile has the workload's 64 MiB mapped" 67108864 "$(get textfile-live mapped)"
	expect_eq "$k prom: node_exporter: nsflush_mapped_bytes while mapped" 67108864 \
		"$(scraped live nsflush_mapped_bytes)"
	expect_eq "$k prom: node_exporter: nsflush_mapped_bytes after unmap" 0 \
		"$(scraped final nsflush_mapped_bytes)"
	u=$(scraped live nsflush_unflushed_bytes)
	if [ "${u:-0}" -ge 67108864 ]; then
		pass "$k prom: node_exporter: nsflush_unflushed_bytes >= 64 MiB in audit mode ($u)"
	else
		fail "$k prom: node_exporter: nsflush_unflushed_bytes in audit mode" "got '$u'"
	fi

	reads=$(get reader reads) bad=$(get reader bad) rewrites=$(get reader rewrites)
	expect_eq "$k prom: reader never saw a partial textfile ($reads reads)" 0 "$bad"
	[ "$bad" = 0 ] || show reader-bad
	[ -n "$bad" ] || show "reader|daemon-err"
	if [ "${rewrites:-0}" -ge 3 ] && [ "${reads:-0}" -ge 10 ]; then
		pass "$k prom: reader raced $rewrites rewrites"
	else
		fail "$k prom: reader raced rewrites" "reads=$reads rewrites=$rewrites"
	fi
	expect_eq "$k prom: no temporary file left in the textfile dir" "textfile-dir: nsflush.prom" \
		"$(echo "$out" | grep '^textfile-dir: ' | tr '\n' ' ' | sed 's/ $//')"

	# nsflush-audit over the socket: audit mode flushes nothing, so unflushed.
	expect_eq "$k prom: nsflush-audit --pid (mapped, audit mode) exits 1" 1 "$(get audit-live rc)"
	expect_eq "$k prom: nsflush-audit --pid (exited VMM) exits 1" 1 "$(get audit-final rc)"
	expect_eq "$k prom: nsflush-audit unknown pid exits 2" 2 "$(get audit-nosuch rc)"
	expect_eq "$k prom: nsflush-audit unknown pid: one line, no report" "1 0" \
		"$(get audit-nosuch lines) $(get audit-nosuch out)"
	expect_eq "$k prom: nsflush-audit --all --json is JSON" "{" "$(get audit-all-json first)"
	expect_eq "$k prom: nsflushd exits 0 on SIGTERM" 0 "$(get daemon rc)"
	expect_eq "$k prom: stopped: the textfile's last line is nsflush_up 0, node_exporter serves it" \
		"nsflush_up_0 0 nsflush_up 0" \
		"$(get stopped-textfile last) $(get scrape-stopped rc) $(echo "$out" | sed -n 's/^scrape-stopped: \(nsflush_up .*\)/\1/p')"
	expect_eq "$k prom: nsflush-audit without daemon exits 2" 2 "$(get audit-nodaemon rc)"
	expect_eq "$k prom: ... with one line 'not running'" "1 1" \
		"$(get audit-nodaemon lines) $(echo "$out" | grep -c '^audit-nodaemon-err: .*nsflushd is not running')"
	# The dashboard and the alert rules against a real Prometheus fed by this
	# lab's live textfile (audit mode, 64 MiB mapped and not flushed): every
	# query is valid and finds its series; the unflushed-bytes alert fires, the
	# not-enforcing and module ones wait out their "for", the rest stay quiet.
	[ "$k" = "$first" ] || continue
	if [ -s "$live" ]; then
		ev=$(tests/dist/eval-dashboard "$live" 2>&1)
		nq=$(echo "$ev" | grep -c '^query ')
		bad=$(echo "$ev" | grep '^query ' | grep -v '^query rc=0 series=[1-9]')
		expect_eq "$k dashboard: every query evaluates and finds series ($nq queries)" "" "$bad"
		[ "$nq" -ge 15 ] || fail "$k dashboard: queries" "only $nq evaluated: $(echo "$ev" | tail -n 3)"
		expect_eq "$k alerts on the lab's textfile" \
			"NsflushDown=inactive NsflushTextfileStale=inactive NsflushUnflushedBytes=firing NsflushEventsLost=inactive NsflushHookMisses=inactive NsflushNotEnforcing=pending NsflushModuleMissing=pending NsflushModuleOutdated=inactive" \
			"$(echo "$ev" | sed -n 's/^alert \([^ ]*\) state=\(.*\)/\1=\2/p' | tr '\n' ' ' | sed 's/ $//')"
	else
		fail "$k dashboard" "the guest saved no live textfile"
	fi
done
finish
