#!/usr/bin/env bash
# Runs every test project (after the idempotent setup) and ends with "N passed, N failed[, N skipped]".
set -uo pipefail
root="$(cd "$(dirname "$0")" && pwd)"
cd "$root"
./scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }  # setup or build failed

log=$(mktemp)
# One assembly at a time (-m:1): in parallel on 2 cores their torch threads contend and the whole run is slower.
dotnet test MuDSC.sln -c Release --no-build --nologo -m:1 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Each test assembly prints "Passed!/Failed!  - Failed: F, Passed: P, Skipped: S, Total: T, ...".
read -r passed failed skipped < <(awk -F'[:,]' '/ - Failed: *[0-9]+, Passed:/ {
    for (i = 1; i <= NF; i++) {
        if ($i ~ /Failed$/) f += $(i+1); if ($i ~ /Passed$/) p += $(i+1); if ($i ~ /Skipped$/) s += $(i+1)
    }
} END { print p+0, f+0, s+0 }' "$log")
rm -f "$log"

# Runs a script that ends with "NAME: N passed, N failed" and adds its counts (none read: one failure).
run_counted() {
    local name=$1 script=$2 log script_status p f
    log=$(mktemp)
    "$script" | tee "$log"
    script_status=${PIPESTATUS[0]}
    read -r p f < <(sed -n "s/^$name: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p" "$log")
    rm -f "$log"
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-1}))
    if [ "$script_status" -ne 0 ] && [ "$status" -eq 0 ]; then status=$script_status; fi
}

# The packages, as a user gets them: samples/ built against them by version and run.
run_counted samples ./scripts/samples.sh
# The code fixes as a user applies them: dotnet format on a project that references the packed package.
run_counted format-fixes ./scripts/format-fixes.sh

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a crash or build error counts as a failure
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$status"
