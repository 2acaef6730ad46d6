#!/usr/bin/env bash
# Make an offline stand-in for the official debian:<suite>-slim image.
#
# The official image is a debootstrap minbase root filesystem with docs, man
# pages and locales excluded through dpkg path-excludes (debuerreotype's
# "slimify" list). This script builds the same thing from Debian's mirror,
# imports it into the local Docker store as debian:<suite>-slim and caches it
# as a tarball. It is a stand-in, not the official image: the Dockerfile pins
# the official index by digest, and a machine that reaches no registry passes
# the stand-in explicitly, `make image BASE_IMAGE=debian:<suite>-slim` (.ci/run
# does so), which the build output names.
#
# Usage: .ci/base-image.sh [SUITE] [CACHE_DIR]   (defaults: trixie, .cache/base-images)
set -euo pipefail

suite=${1:-trixie}
cache_dir=${2:-.cache/base-images}
tag="debian:${suite}-slim"
docker=${DOCKER:-docker}
tarball="${cache_dir}/debian-${suite}-slim.tar"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if "$docker" image inspect "$tag" >/dev/null 2>&1; then
  echo "base image: $tag already present"
  exit 0
fi
if [ -s "$tarball" ]; then
  echo "base image: loading $tag from $tarball"
  "$docker" load --input "$tarball"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "base image: debootstrap is not installed" >&2; exit 1; }
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT

echo "base image: debootstrap --variant=minbase $suite (about a minute)"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -20 "$rootfs.log" >&2
  exit 1
}
rm -f "$rootfs.log"

# The slimify excludes of the official -slim images, applied to what is
# installed now and to every later dpkg install.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EXCLUDES'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EXCLUDES
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian/overrides,man}/*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
printf 'deb %s %s main\n' "$mirror" "$suite" >"$rootfs/etc/apt/sources.list"
# As in the official image: apt keeps no package caches after an install.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APTCLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APTCLEAN

echo "base image: importing as $tag"
tar -C "$rootfs" -c . | "$docker" import --change 'CMD ["bash"]' - "$tag" >/dev/null
mkdir -p "$cache_dir"
"$docker" save --output "$tarball" "$tag"
echo "base image: cached at $tarball ($(du -h "$tarball" | cut -f1))"
