#!/usr/bin/env bash
# The shipped alert rules: valid for Prometheus, and their promtool unit
# tests pass, with every rule fired by at least one of them (and held back
# by another). The dashboard's queries and the rules on a live textfile are
# checked against a real Prometheus in tests/nsflushd/test-prom.sh.
. "$(dirname "$0")/../lib.sh"
dir=$NSFLUSH_ROOT/dist/prometheus

out=$(promtool check rules "$dir/nsflush.rules.yml" 2>&1)
expect_eq "promtool check rules" "0 SUCCESS: 8 rules found" \
	"$? $(echo "$out" | grep -o 'SUCCESS.*')"
out=$(cd "$dir" && promtool test rules nsflush.rules.test.yml 2>&1)
rc=$?
if [ $rc = 0 ]; then pass "promtool test rules"; else fail "promtool test rules" "$(echo "$out" | head -n 20)"; fi
for a in $(sed -n 's/^ *- alert: //p' "$dir/nsflush.rules.yml"); do
	tests=$(awk -v a="$a" '$1 == "alertname:" && $2 == a { n++ } END { print n + 0 }' \
		"$dir/nsflush.rules.test.yml")
	fired=$(awk -v a="$a" '$1 == "alertname:" { cur = $2 } $1 == "exp_alerts:" && cur == a && $2 != "[]" { n++ } END { print n + 0 }' \
		"$dir/nsflush.rules.test.yml")
	if [ "$fired" -ge 1 ] && [ "$tests" -gt "$fired" ]; then
		pass "alert $a: tested firing ($fired) and quiet ($((tests - fired)))"
	else
		fail "alert $a" "tested $tests times, firing in $fired"
	fi
done
finish
