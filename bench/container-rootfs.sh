#!/usr/bin/env bash
# Assembles the build context of the Dockerfile: DIR/rootfs holding the static release binary
# at /usr/bin/chorus, every shared library `ldd` lists for it (at the same paths, with the
# dynamic loader), an empty /data and /tmp, and nothing else.
#
# Usage: bench/container-rootfs.sh DIR [BINARY]   (BINARY default .build/release/chorus, built
#        with `swift build -c release --static-swift-stdlib --product chorus` when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: bench/container-rootfs.sh DIR [BINARY]}
binary=${2:-.build/release/chorus}
if [[ ! -x $binary ]]; then
    swift build -c release --static-swift-stdlib --product chorus
fi
root="$dir/rootfs"
rm -rf "$root"
mkdir -p "$root/usr/bin" "$root/data" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
cp "$binary" "$root/usr/bin/chorus"
strip "$root/usr/bin/chorus" 2>/dev/null || true
# ldd prints "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" and the loader as
# "/lib64/ld-linux-x86-64.so.2 (0x...)": copy every absolute path, following symlinks.
ldd "$binary" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
# libcrypto is opened only when a key is first used (dlopen, ChorusSeal/LibCrypto.swift), so
# ldd does not list it: copy it as well, at the path the loader resolves it to.
crypto=$(ldconfig -p | awk '/libcrypto\.so\.3 .*x86-64/ {print $NF; exit}')
if [ -n "$crypto" ]; then
    mkdir -p "$root$(dirname "$crypto")"
    cp -L "$crypto" "$root$crypto"
else
    echo "warning: libcrypto.so.3 not found; the image cannot use a keyring" >&2
fi
# Name resolution of numeric addresses and of /etc/hosts entries; no NSS modules are needed.
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
printf 'root:x:0:0:root:/:/usr/bin/chorus\n' >"$root/etc/passwd"
echo "rootfs in $root:"
(cd "$root" && find . -type f | sort | while read -r f; do printf '  %-45s %8s\n' "${f#.}" "$(du -h "$f" | cut -f1)"; done)
