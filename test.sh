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

# The packages, as a user gets them: samples/ built against them by version and run.
samples_log=$(mktemp)
./scripts/samples.sh | tee "$samples_log"
samples_status=${PIPESTATUS[0]}
read -r sample_passed sample_failed < <(sed -n 's/^samples: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$samples_log")
rm -f "$samples_log"
passed=$((passed + ${sample_passed:-0}))
failed=$((failed + ${sample_failed:-1}))
[ "$samples_status" -ne 0 ] && [ "$status" -eq 0 ] && status=$samples_status

# The code fixes as a user applies them: dotnet format on a project that references the packed package.
fixes_log=$(mktemp)
./scripts/format-fixes.sh | tee "$fixes_log"
fixes_status=${PIPESTATUS[0]}
read -r fixes_passed fixes_failed < <(sed -n 's/^format-fixes: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$fixes_log")
rm -f "$fixes_log"
passed=$((passed + ${fixes_passed:-0}))
failed=$((failed + ${fixes_failed:-1}))
[ "$fixes_status" -ne 0 ] && [ "$status" -eq 0 ] && status=$fixes_status

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a crash or build error counts as a failure
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$status"
