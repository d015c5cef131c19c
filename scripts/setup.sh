#!/usr/bin/env bash
# Idempotent machine setup for MuDSC for .NET: data, native-library fix, restore, build.
# Quiet when nothing is to do; prints each change it makes.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR=/usr/share/datasets/fashion-mnist
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_updated=0

say() { echo "[setup] $*" >&2; }

apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        $SUDO apt-get update -qq >/dev/null
        apt_updated=1
    fi
}

libstdcxx_path() {
    ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64|libstdc\+\+\.so\.6 \(libc6,x86-64\)/ {print $NF; exit}'
}

has_glibcxx_3_4_32() {
    local lib
    lib=$(libstdcxx_path)
    [ -n "$lib" ] && grep -qa 'GLIBCXX_3\.4\.32' "$lib"
}

# The Debian mirror this machine already uses (first non-security "URIs:" or "deb" entry).
debian_mirror() {
    local uri
    uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
          | awk '{print $2}' | grep -v security | grep '/debian/\?$' | head -1 || true)
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' \
              /etc/apt/sources.list | head -1)
    fi
    echo "$uri"
}

ensure_fashion_mnist() {
    if [ ! -f "$DATA_DIR/t10k-labels-idx1-ubyte.gz" ]; then
        say "installing dataset-fashion-mnist (Fashion-MNIST into $DATA_DIR)"
        apt_update_once
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
    fi
}

# Graphviz renders `mudsc plan --format dot`; a test renders every shipped architecture's graph with it.
ensure_graphviz() {
    if ! command -v dot >/dev/null 2>&1; then
        say "installing graphviz (renders mudsc plan --format dot)"
        apt_update_once
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq graphviz >/dev/null
    fi
}

ensure_libstdcxx() {
    if has_glibcxx_3_4_32; then return; fi
    local mirror
    mirror=$(debian_mirror)
    if [ -z "$mirror" ]; then
        say "error: libstdc++ lacks GLIBCXX_3.4.32 and no Debian mirror was found in /etc/apt sources" >&2
        exit 1
    fi
    say "libstdc++ lacks GLIBCXX_3.4.32 (TorchSharp needs it): taking libstdc++6 from Debian trixie via $mirror"
    $SUDO tee /etc/apt/sources.list.d/debian-trixie.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    $SUDO tee /etc/apt/preferences.d/trixie-low >/dev/null <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
    apt_updated=0
    apt_update_once
    # libstdc++6 from trixie pulls trixie's libc6, libc-bin and libgcc-s1 (and libc6-dev where it is
    # installed) along with it: say exactly what apt will change before it does.
    local changes
    changes=$(apt-get install -s -t trixie libstdc++6 2>/dev/null | awk '/^Inst / {print $2}' | tr '\n' ' ' || true)
    say "apt will install or upgrade from trixie: ${changes:-libstdc++6}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t trixie libstdc++6 >/dev/null
    has_glibcxx_3_4_32 || { say "error: libstdc++6 from trixie still lacks GLIBCXX_3.4.32" >&2; exit 1; }
}

build() {
    # Incremental: dotnet build is a no-op (a few seconds) when nothing changed.
    local log
    log=$(mktemp)
    if ! dotnet build MuDSC.sln -c Release -nologo -v q >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        say "error: build failed" >&2
        exit 1
    fi
    rm -f "$log"
}

ensure_fashion_mnist
ensure_graphviz
ensure_libstdcxx
if [ "${MUDSC_SKIP_BUILD:-0}" != "1" ]; then build; fi
