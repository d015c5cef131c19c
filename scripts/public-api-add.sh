#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to src/MuDSC.Runtime/PublicAPI.Unshipped.txt:
# run it after a deliberate change of the public surface, then review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."
list=src/MuDSC.Runtime/PublicAPI.Unshipped.txt
dotnet build src/MuDSC.Runtime -c Release 2>&1 | grep -o "RS0016: Symbol '[^']*'" | sed -E "s/RS0016: Symbol '(.*)'/\1/" | sort -u >> "$list" || true
{ head -n 1 "$list"; tail -n +2 "$list" | LC_ALL=C sort -u; } > "$list.tmp" && mv "$list.tmp" "$list"
cat "$list"
