#!/usr/bin/env bash
# Builds, with no registry, a local stand-in for the base image SAM CLI runs
# `provided.al2023` functions in: public.ecr.aws/lambda/provided:al2023-<arch>.
#
# SAM CLI (samcli/local/docker/lambda_image.py) builds its run image
# `…:al2023-rapid-<arch>` FROM that base with a Dockerfile that ADDs the
# aws-lambda-rie binary bundled in the aws-sam-cli wheel and runs `mv` and
# `chmod` in a shell; the container then starts /var/rapid/aws-lambda-rie
# with the code mounted at /var/task. With --skip-pull-image a local base is
# used as it is, so SAM's own build step runs against this one.
#
# The root filesystem is the host's: a POSIX shell, mv and chmod, and the
# glibc libraries those and the functions' bootstrap binaries link against
# (found with ldd), imported with `docker import`. The real image is Amazon
# Linux 2023; the bootstraps are built by cargo-lambda against an old glibc
# baseline, so any newer glibc runs them.
#
# Usage: scripts/sam-local-image.sh [x86_64]   (the host's architecture only)
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-x86_64}
[[ $arch == "$(uname -m)" ]] ||
  { echo "sam-local-image: can only build for the host architecture $(uname -m), not $arch" >&2; exit 2; }
image=public.ecr.aws/lambda/provided:al2023-$arch

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

copy() { # host path -> same path in the root filesystem (symlinks resolved)
  mkdir -p "$root$(dirname "$1")"
  cp -L "$1" "$root$1"
}

tools=("$(command -v sh)" "$(command -v mv)" "$(command -v chmod)" "$(command -v ls)" "$(command -v cat)")
# The bootstraps' libraries too, when sam build has produced them.
linked=("${tools[@]}")
for b in .aws-sam/build/*/bootstrap; do [[ -f $b ]] && linked+=("$b"); done
for t in "${tools[@]}"; do
  copy "$t"
  # Tools are called by name from PATH inside the image.
  mkdir -p "$root/bin" "$root/usr/bin"
  [[ -e $root/bin/$(basename "$t") ]] || cp -L "$t" "$root/bin/$(basename "$t")"
done
# Every shared library any of them loads, plus the dynamic loader.
ldd "${linked[@]}" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u | while read -r lib; do
  copy "$lib"
done
# CA certificates, where Amazon Linux keeps them and where Debian does: the
# functions' HTTPS client refuses to start without a trust store, even when
# it only ever talks plain HTTP to moto.
bundle=""
for b in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  [[ -f $b ]] && { bundle=$b; break; }
done
[[ -n $bundle ]] || { echo "sam-local-image: no CA bundle on this host (install ca-certificates)" >&2; exit 1; }
for dest in /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/certs/ca-certificates.crt; do
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$bundle" "$root$dest"
done
# Paths the Lambda runtime layout has, and a writable /tmp.
mkdir -p "$root"/{var/task,var/runtime,var/rapid,opt,tmp,etc,proc,sys,dev}
chmod 1777 "$root/tmp"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "sbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin" >>"$root/etc/passwd"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin' \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
  --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'WORKDIR /var/task' \
  --change 'ENTRYPOINT ["/var/rapid/aws-lambda-rie"]' \
  - "$image" >/dev/null
# A stale run image from an earlier base would be reused as it is.
docker image rm -f "public.ecr.aws/lambda/provided:al2023-rapid-$arch" >/dev/null 2>&1 || true
echo "built $image ($(du -sh "$root" | cut -f1) root filesystem from this host)"
