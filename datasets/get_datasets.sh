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

# Loads every batch in folder $1 (standard library only, no numpy needed, no code in the files run) and
# checks what a CIFAR-10 batch holds: uint8 images of shape (n, 3072), n labels in 0..9, ten class names.
# Prints "N training and M test images" and exits 0, or names the damaged file and exits 1.
verify_dir() {
  local py
  py="$(command -v python3 || command -v python)" || die "python3 is needed to check the data; install it and run this script again"
  "$py" - "$1" <<'PYTHON'
import os, pickle, sys

class Stub:
    def __init__(self, *args):
        self.args, self.state = args, None

    def __setstate__(self, state):
        self.state = state

def frombuffer(buf, dtype, shape, order):  # protocol 5 arrays
    array = Stub()
    array.state = (1, shape, dtype, False, buf)
    return array

ALLOWED = {
    ("_codecs", "encode"): lambda text, encoding="latin1": text.encode("latin-1"),
    ("numpy", "dtype"): Stub,
    ("numpy", "ndarray"): Stub,
}
for package in ("numpy.core", "numpy._core"):
    ALLOWED[(package + ".multiarray", "_reconstruct")] = lambda cls, shape, code: Stub()
    ALLOWED[(package + ".numeric", "_frombuffer")] = frombuffer

class Loader(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise ValueError(f"it asks for {module}.{name}, which no CIFAR-10 batch holds")
        return ALLOWED[(module, name)]

def load(path):
    try:
        with open(path, "rb") as f:
            batch = Loader(f, encoding="bytes").load()
    except EOFError:
        raise ValueError("truncated") from None
    except Exception as e:
        raise ValueError("truncated" if "truncated" in str(e) else f"not a pickled batch: {e}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"expected a dict, found {type(batch).__name__}")
    return {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in batch.items()}

def count_images(path):
    batch = load(path)
    data, labels = batch.get("data"), batch.get("labels")
    state = getattr(data, "state", None)
    if not isinstance(state, tuple) or len(state) != 5 or not isinstance(state[1], tuple) or len(state[1]) != 2:
        raise ValueError("'data' is not an image array")
    shape, dtype, raw = state[1], state[2], state[4]
    n, size = shape
    if getattr(dtype, "args", (None,))[0] not in ("u1", b"u1") or size != 3072 or n < 1:
        raise ValueError(f"'data' must be uint8 images of shape (n, 3072), found shape {shape}")
    nbytes = memoryview(raw).nbytes
    if nbytes != n * size:
        raise ValueError(f"'data' holds {nbytes} bytes, expected {n * size}")
    if not isinstance(labels, list) or len(labels) != n or not all(type(v) is int and 0 <= v <= 9 for v in labels):
        raise ValueError(f"expected a list of {n} labels in 0..9")
    return n

folder = sys.argv[1]
counts = {}
for name in ["batches.meta"] + [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
    path = os.path.join(folder, name)
    try:
        if name == "batches.meta":
            names = load(path).get("label_names")
            if not isinstance(names, list) or len(names) != 10:
                raise ValueError("expected 'label_names', a list of the 10 class names")
        else:
            counts[name] = count_images(path)
    except (OSError, ValueError) as e:
        print(f"{name} is damaged ({e})")
        sys.exit(1)
print(f"{sum(n for k, n in counts.items() if k != 'test_batch')} training and {counts['test_batch']} test images")
PYTHON
}

# Checks the finished folder $1 by loading it, then moves it into place in one step, so a half-copied or
# damaged folder is never taken for data. $2 says where it came from, for the message.
install_dir() {
  local report
  report="$(verify_dir "$1")" || die "$2: $report; nothing was installed"
  chmod -R u+w "$1"
  rm -rf "$dest"
  mv "$1" "$dest"
  echo "CIFAR-10 is ready in $dest ($report)"
}

if [ "$#" -gt 1 ]; then
  die "expected at most one argument (a cifar-10-batches-py folder to copy), got $#"
fi

if [ -d "$dest" ] && [ -z "$(missing_in "$dest")" ]; then
  if report="$(verify_dir "$dest")"; then
    echo "CIFAR-10 is already in $dest ($report); nothing to do."
    exit 0
  fi
  echo "Replacing the damaged copy in $dest: $report"
elif [ -e "$dest" ]; then
  echo "Replacing the incomplete $dest (missing: $(missing_in "$dest" | tr '\n' ' '))"
fi

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
  install_dir "$tmp" "the copy in $src"
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
install_dir "$tmp/cifar-10-batches-py" "the archive $archive"
rm -f "$archive"
