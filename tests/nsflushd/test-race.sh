#!/usr/bin/env bash
# Two threads of one VMM (tests/nsflushd/guest-race, --edu 2), in enforce
# mode: one detaches and re-attaches the second device's group 400 times
# while the other maps and unmaps page by page into the same container
# (IOAS). Every byte that reached the non-coherent domain is flushed
# before the map and before the unpin, to the byte of the helper module's
# counter, on every lab kernel and backend.
. "$(dirname "$0")/../lib.sh"

MiB=$((1 << 20))
for kb in debian-6.12:type1 debian-6.1:type1 iommufd-6.12:iommufd; do
	k=${kb%:*} b=${kb#*:}
	out=$(vm "$k" --edu 2 --timeout 600 -- tests/nsflushd/guest-race "$b" 2>&1)
	line=$(echo "$out" | grep '^wl race: race ')
	scen=$(echo "$out" | grep '^scenario race ')
	if [ -z "$line" ] || [ -z "$scen" ]; then
		fail "$k $b race: guest" "no result"; echo "$out" | tail -n 30; continue
	fi
	json=${scen#* json=}
	scen=${scen%% json=*}
	raced=$(field mapped <<<"$line")
	# type1 probes each new domain with 2 kernel pages; re-attaches merge
	# into the existing domain, so only the first attach makes one
	probe=0
	[ "$b" = type1 ] && probe=8192
	if [ "$(field cycles <<<"$line")" = 400 ] && [ "$(field maps <<<"$line")" -gt 0 ] 2>/dev/null; then
		pass "$k $b race: 400 attach cycles, $(field maps <<<"$line") page maps from the other thread"
	else
		fail "$k $b race: the workload raced" "$line"
	fi
	expect_eq "$k $b race: audit exit 0, complete, nothing lost or unflushed" "0 true 0 0" \
		"$(field rc <<<"$scen") $(jq -r '"\(.complete) \(.summary.lost_events) \(.summary.unflushed_bytes)"' <<<"$json")"
	expect_eq "$k $b race: every byte mapped into the domain is in the report" \
		$((2 * MiB + raced + probe)) "$(jq -r .summary.mapped_bytes <<<"$json")"
	expect_eq "$k $b race: flushed before map and unpin, twice the mapped bytes, as the module counted" \
		"$((2 * (2 * MiB + raced + probe))) $((2 * (2 * MiB + raced + probe)))" \
		"$(jq -r .summary.flushed_bytes <<<"$json") $(field module_flushed <<<"$scen")"
	expect_eq "$k $b race: one non-coherent domain, both groups" "false 2" \
		"$(jq -r '.domains | map("\(.coherent) \(.groups | length)") | unique | join(",")' <<<"$json")"
done
finish
