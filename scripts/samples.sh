#!/usr/bin/env bash
# Packs MuDSC, MuDSC.Architectures and the mudsc tool (MuDSC.Cli) into artifacts/packages, then builds and runs every
# project under samples/ against those packages by version, outside the solution, as a user would, and installs the tool
# from its package and runs it.
# Expects a Release build (./scripts/setup.sh). Ends with "samples: N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

version=$(dotnet msbuild src/MuDSC.Runtime/MuDSC.Runtime.csproj -getProperty:Version)
packages="$root/artifacts/packages"
rm -rf "$packages"
for project in src/MuDSC.Runtime src/Architectures src/MuDSC.Cli; do
    dotnet pack "$project" -c Release --no-build --nologo -v quiet -o "$packages" > /dev/null || { echo "samples: 0 passed, 1 failed (pack $project)"; exit 1; }
done
# A package of this version restored before holds older code: drop it from the NuGet cache.
cache=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
rm -rf "$cache/mudsc/$version" "$cache/mudsc.architectures/$version" "$cache/mudsc.cli/$version"

passed=0 failed=0
# Counts one check: $1 names it, $2 is the exit status of its steps, $3 their log (its tail is shown, longer on failure).
record() {
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1)); echo "$1: passed"; tail -n 12 "$3" | sed 's/^/  /'
    else
        failed=$((failed + 1)); echo "$1: FAILED"; tail -n 40 "$3" | sed 's/^/  /'
    fi
}

log=$(mktemp)
for project in samples/*/*.csproj; do
    name=$(basename "$(dirname "$project")")
    dotnet build "$project" -c Release --nologo -v quiet -p:MuDSCVersion="$version" > "$log" 2>&1 &&
        dotnet "$(dirname "$project")/bin/Release/net10.0/$name.dll" >> "$log" 2>&1
    record "sample $name" $? "$log"
done
# The mudsc command as a user gets it from the package: installed as a .NET tool, then run outside the repository.
tools=$(mktemp -d)
dotnet tool install --tool-path "$tools" --add-source "$packages" MuDSC.Cli --version "$version" > "$log" 2>&1 &&
    (cd "$tools" && ./mudsc --version && ./mudsc plan --arch resnet20 --format rebasin > spec.json && head -n 3 spec.json &&
     grep -q '"perm_to_axes"' spec.json) >> "$log" 2>&1
record "tool mudsc" $? "$log"
rm -rf "$tools" "$log"
echo "samples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
