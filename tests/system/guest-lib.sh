# Sourced by the system guest's scripts (guest-install, guest-reboot).
T0=$(date +%s)
# say KEY=VALUE...: a line for test-system.sh, with the seconds since start
say() { echo "sys: $* t=$(($(date +%s) - T0))"; }
# metric NAME [PID]: its value as node_exporter serves it (labels in any
# order, floats as integers); with PID, the series of that pid.
metric() {
	curl -fsS --max-time 10 http://127.0.0.1:9100/metrics |
		grep -E "^$1(\{| )" | grep -F "${2:+pid=\"$2\"}" | head -n 1 |
		{ read -r _ v && printf '%.0f\n' "$v"; }
}
wait_for() {	# SECONDS CMD...: until CMD succeeds
	local n=$(($1 * 5)); shift
	for _ in $(seq "$n"); do "$@" > /dev/null 2>&1 && return 0; sleep 0.2; done
	return 1
}
