#!/usr/bin/env bash
# Put CIFAR-10 (python version) into datasets/cifar-10-batches-py, next to this script.
#
#   bash datasets/get_datasets.sh                 download the official archive, check its md5, unpack it
#   bash datasets/get_datasets.sh PATH            copy an existing cifar-10-batches-py folder from PATH
#                                                 (checked against PATH.sha256 when that file exists)
#
# Works from any directory; a second run with the data in place says so and exits 0.
# CIFAR10_URL and CIFAR10_MD5 override the archive's address and checksum (for a mirror).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/cifar-10-batches-py"
files=(batches.meta data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch)
url="${CIFAR10_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz}"
md5="${CIFAR10_MD5:-c58f30108f718f92721af3b95e74349a}"
archive="$here/cifar-10-python.tar.gz"

die() { echo "get_datasets.sh: error: $*" >&2; exit 1; }

# Lists the expected files that are missing, empty or unreadable in folder $1.
missing_in() {
  local f
  for f in "${files[@]}"; do
    [ -f "$1/$f" ] && [ -r "$1/$f" ] && [ -s "$1/$f" ] || echo "$f"
  done
}

# Moves the finished folder $1 into place in one step, so a half-copied folder is never taken for data.
install_dir() {
  chmod -R u+w "$1"
  rm -rf "$dest"
  mv "$1" "$dest"
  echo "CIFAR-10 is ready in $dest"
}

if [ "$#" -gt 1 ]; then
  die "expected at most one argument (a cifar-10-batches-py folder to copy), got $#"
fi

if [ -d "$dest" ] && [ -z "$(missing_in "$dest")" ]; then
  echo "CIFAR-10 is already in $dest; nothing to do."
  exit 0
fi
[ -e "$dest" ] && echo "Replacing the incomplete $dest (missing: $(missing_in "$dest" | tr '\n' ' '))"

# mkdir (not mktemp -d) so the folder gets the usual permissions from the umask.
tmp="$here/.cifar-10-tmp.$$"
rm -rf "$tmp"
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT

if [ "$#" -eq 1 ]; then
  [ -d "$1" ] || die "'$1' is not a directory; give the path of an existing cifar-10-batches-py folder"
  src="$(cd "$1" && pwd)"
  missing="$(missing_in "$src")"
  [ -z "$missing" ] || die "'$1' is not a complete cifar-10-batches-py folder: missing or unreadable: $(echo $missing)"
  if [ -f "$src.sha256" ]; then
    echo "Checking $src against $src.sha256"
    (cd "$src" && sha256sum --check --quiet "$src.sha256") || die "'$1' does not match its checksums in $src.sha256"
  fi
  echo "Copying CIFAR-10 from $src"
  for f in "${files[@]}"; do
    cp "$src/$f" "$tmp/$f" || die "could not read $src/$f"
  done
  install_dir "$tmp"
  exit 0
fi

md5_of() {
  if command -v md5sum >/dev/null; then md5sum "$1" | cut -d' ' -f1
  elif command -v md5 >/dev/null; then md5 -q "$1"
  else python3 -c 'import hashlib, sys; print(hashlib.md5(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
  fi
}

if [ ! -f "$archive" ]; then
  echo "Downloading $url"
  if command -v curl >/dev/null; then
    fetch=(curl --fail --location --connect-timeout 20 --retry 2 --output "$archive.part" "$url")
  elif command -v wget >/dev/null; then
    fetch=(wget --timeout=20 --tries=3 --output-document="$archive.part" "$url")
  else
    die "neither curl nor wget is installed; install one, or copy an existing copy with: bash $0 /path/to/cifar-10-batches-py"
  fi
  if ! "${fetch[@]}"; then
    rm -f "$archive.part"
    die "could not download $url (offline, or the server is unreachable). Try again when online, or copy an existing copy with: bash $0 /path/to/cifar-10-batches-py"
  fi
  mv "$archive.part" "$archive"
fi

got="$(md5_of "$archive")"
if [ "$got" != "$md5" ]; then
  rm -f "$archive"
  die "the downloaded archive is corrupt (md5 $got, expected $md5); it was deleted, run this script again"
fi
tar -xzf "$archive" -C "$tmp" || die "could not unpack $archive"
missing="$(missing_in "$tmp/cifar-10-batches-py")"
[ -z "$missing" ] || die "the archive lacks cifar-10-batches-py/ files: $(echo $missing)"
install_dir "$tmp/cifar-10-batches-py"
rm -f "$archive"
