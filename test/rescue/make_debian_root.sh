#!/usr/bin/env bash
# Builds a Debian bookworm guest userland with its own initramfs tool, for the tests that run the
# REAL tool through the repair engine's sandbox (test/rescue/linux-initramfs-real.test.ts), and
# prints the path of a tar of it. FLAVOR is initramfs-tools (update-initramfs) or dracut (Debian's
# dracut package, which conflicts with initramfs-tools: a root of its own).
#
# The root: debootstrap --variant=minbase from deb.debian.org with the tool (+ kmod, zstd, and
# busybox for initramfs-tools), no kernel package; /lib/modules/$KVER holds one module,
# falcon_kal.ko, built here as an ELF relocatable object with a .modinfo section (what modinfo,
# depmod and libkmod read), depmod run in the root; the module is listed for inclusion
# (/etc/initramfs-tools/modules, or a dracut.conf.d add_drivers) and the ORIGINAL image,
# /boot/initrd.img-$KVER, is built by the tool itself in a plain chroot (with /proc only).
#
# Idempotent and cached: the tar is kept under
# ${XDG_CACHE_HOME:-~/.cache}/bootloop-rescue/guest-roots/ by a key of this script's text, the
# flavor and debootstrap's version, so CI and later runs reuse it (the downloaded .debs too).
# Needs root (debootstrap, chroot), debootstrap and gcc. Prints build times on stderr.
set -euo pipefail

flavor=${1:?usage: make_debian_root.sh initramfs-tools|dracut}
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
KVER=6.1.0-28-amd64 # a bookworm kernel's name; no kernel is installed, only its module folder
case $flavor in
    initramfs-tools) include=initramfs-tools,kmod,busybox,zstd ;;
    dracut) include=dracut,kmod,zstd ;;
    *)
        echo "make_debian_root.sh: unknown flavor '$flavor' (initramfs-tools or dracut)" >&2
        exit 2
        ;;
esac
for tool in debootstrap gcc chroot tar; do
    command -v "$tool" >/dev/null || {
        echo "make_debian_root.sh: $tool is not installed (scripts/test.sh installs it)" >&2
        exit 2
    }
done
[[ $(id -u) == 0 ]] || {
    echo "make_debian_root.sh: needs root (debootstrap, chroot)" >&2
    exit 2
}

cache=${XDG_CACHE_HOME:-$HOME/.cache}/bootloop-rescue/guest-roots
key=$({
    cat "$0"
    echo "$flavor"
    debootstrap --version
} | sha256sum | cut -c1-16)
out=$cache/debian-$SUITE-$flavor-$key.tar
if [[ -s $out ]]; then
    echo "$out"
    exit 0
fi
mkdir -p "$cache/debs"
work=$(mktemp -d "$cache/.build-$flavor.XXXXXX")
root=$work/root
cleanup() {
    # Whatever debootstrap or the chroot left mounted inside the root, innermost first.
    if [[ -d $root ]]; then
        findmnt -rn -o TARGET | { grep -F "$root/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
# --cache-dir keeps the .debs between runs (and between the two flavors).
debootstrap --variant=minbase --include="$include" --cache-dir="$cache/debs" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    echo "make_debian_root.sh: debootstrap failed (its log's tail above)" >&2
    exit 1
}
echo "debootstrap ($flavor): $((SECONDS - started)) s" >&2

# The module: an ELF relocatable with the .modinfo strings a real module has.
mods=$root/lib/modules/$KVER
mkdir -p "$mods/extra"
cat >"$work/falcon_kal.c" <<EOF
static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) =
    "license=GPL\0"
    "description=a stand-in for CrowdStrike Falcon's kernel module (bootloop-rescue tests)\0"
    "depends=\0"
    "retpoline=Y\0"
    "name=falcon_kal\0"
    "vermagic=$KVER SMP preempt mod_unload modversions \0";
int init_module(void) { return 0; }
void cleanup_module(void) {}
EOF
gcc -c -O2 -o "$mods/extra/falcon_kal.ko" "$work/falcon_kal.c"
echo "extra/falcon_kal.ko" >"$mods/modules.order"
: >"$mods/modules.builtin"
: >"$mods/modules.builtin.modinfo"
# What a kernel package's /boot/config says of initramfs compression (initramfs-tools reads it).
printf '%s\n' CONFIG_BLK_DEV_INITRD=y CONFIG_RD_GZIP=y CONFIG_RD_XZ=y CONFIG_RD_ZSTD=y CONFIG_MODULES=y >"$root/boot/config-$KVER"
chroot "$root" /sbin/depmod -a "$KVER"
chroot "$root" /sbin/modinfo -k "$KVER" falcon_kal >/dev/null

# The original image, made by the guest's own tool with the module listed for inclusion.
mount -t proc proc "$root/proc"
case $flavor in
    initramfs-tools)
        echo falcon_kal >>"$root/etc/initramfs-tools/modules"
        chroot "$root" update-initramfs -c -k "$KVER" >"$work/tool.log" 2>&1 || {
            cat "$work/tool.log" >&2
            exit 1
        }
        ;;
    dracut)
        echo 'add_drivers+=" falcon_kal "' >"$root/etc/dracut.conf.d/50-falcon.conf"
        chroot "$root" dracut --force --no-hostonly --kver "$KVER" "/boot/initrd.img-$KVER" >"$work/tool.log" 2>&1 || {
            cat "$work/tool.log" >&2
            exit 1
        }
        ;;
esac
umount "$root/proc"
[[ -s $root/boot/initrd.img-$KVER ]] || {
    echo "make_debian_root.sh: the tool made no /boot/initrd.img-$KVER" >&2
    exit 1
}

# Smaller: no apt lists or package cache (the .debs stay in the cache above), no docs.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/*
tar -C "$root" --numeric-owner --xattrs -cf "$work/root.tar" .
mv "$work/root.tar" "$out"
echo "root ($flavor): $((SECONDS - started)) s in all, $(du -m "$out" | cut -f1) MiB" >&2
echo "$out"
