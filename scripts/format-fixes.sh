#!/usr/bin/env bash
# The code fixes as a user meets them: a copy of tests/format-fixes (a project with a class missing `partial` and a
# norm missing [Maps]) restores the packed MuDSC package, `dotnet format analyzers` fixes MDSC001 and MDSC005, the
# result must equal Net.cs.expected and build. Expects ./scripts/samples.sh to have packed artifacts/packages.
# Ends with "format-fixes: N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=$(dotnet msbuild "$root/src/MuDSC.Runtime/MuDSC.Runtime.csproj" -getProperty:Version)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/tests/format-fixes/Unfixed.csproj" "$root/tests/format-fixes/Net.cs" "$work/"
cat > "$work/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$root/artifacts/packages" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
CONFIG
# Outside the repository: nothing of its build settings reaches the copy.
printf '<Project></Project>\n' > "$work/Directory.Build.props"
printf '<Project><PropertyGroup><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup></Project>\n' > "$work/Directory.Packages.props"

fail() { echo "format-fixes: FAILED: $1"; echo "format-fixes: 0 passed, 1 failed"; exit 1; }
cd "$work"
dotnet restore Unfixed.csproj -p:MuDSCVersion="$version" --nologo -v q > log 2>&1 || { cat log; fail "restore"; }
if dotnet build Unfixed.csproj --no-restore -p:MuDSCVersion="$version" --nologo -v q > log 2>&1; then
    fail "the unfixed project built: its mistakes were not reported"
fi
grep -q "MDSC001" log || { cat log; fail "the unfixed build did not report MDSC001"; }
dotnet format analyzers Unfixed.csproj --no-restore --diagnostics MDSC001 MDSC005 --severity error -v q > log 2>&1 || { cat log; fail "dotnet format"; }
diff -u "$root/tests/format-fixes/Net.cs.expected" Net.cs || fail "the fixed Net.cs differs from Net.cs.expected"
dotnet build Unfixed.csproj --no-restore -p:MuDSCVersion="$version" --nologo -v q > log 2>&1 || { cat log; fail "the fixed project does not build"; }
echo "format-fixes: MDSC001 and MDSC005 fixed by dotnet format analyzers; the project builds"
echo "format-fixes: 1 passed, 0 failed"
