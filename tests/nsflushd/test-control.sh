#!/usr/bin/env bash
# The control socket under load (tests/nsflushd/guest-control): a storm of
# about 147 k map, unmap and unpin events (3 x 16384 cycles of 4 KiB) in enforce mode while 6 audits,
# 2 slow readers and 4 silent clients hold the socket and the textfile is
# rewritten every second. No event may be lost, every byte is accounted
# and flushed (the helper module's counter), every client is answered or,
# silent, dropped on time.
. "$(dirname "$0")/../lib.sh"

k=debian-6.12
bytes=$((3 * 16384 * 4096))
probe=8192	# type1's 2 probe pages, mapped with the domain
out=$(vm "$k" --timeout 900 -- tests/nsflushd/guest-control 2>&1)
line=$(echo "$out" | grep '^case storm ')
if [ -z "$line" ]; then fail "$k control: guest" "no result"; echo "$out" | tail -n 30; finish; fi
wl=$(echo "$out" | grep '^case storm-wl ')
expect_eq "$k control: the storm ran (3 x 16384 maps and unmaps of 4 KiB)" "0 3 3" \
	"$(field rc <<<"$wl") $(field maps <<<"$wl") $(field unmaps <<<"$wl")"
expect_eq "$k control: no event lost (report and textfile)" "0 0" \
	"$(field lost <<<"$line") $(field prom_lost <<<"$line")"
expect_eq "$k control: every byte mapped is in the report, nothing live" \
	"$((bytes + probe)) 0" "$(field mapped <<<"$line") $(field live <<<"$line")"
expect_eq "$k control: flushed at map and at unpin, as the module counted; audit clean" \
	"0 $((2 * (bytes + probe))) $((2 * (bytes + probe)))" \
	"$(field rc <<<"$line") $(field flushed <<<"$line") $(field module <<<"$line")"
c=$(echo "$out" | grep '^case clients ')
expect_eq "$k control: 6 audits answered, 2 slow readers got whole answers, 4 silent clients dropped" \
	"6 2 4" "$(field audits <<<"$c") $(field slow <<<"$c") $(field silent_dropped <<<"$c")"
echo "# daemon RSS after the storm: $(field rss_kb <<<"$line") KiB; slow reader: $(field slow1 <<<"$c")"
expect_eq "$k control: the daemon stopped cleanly" 0 "$(echo "$out" | grep '^daemon mode=' | field rc)"
finish
