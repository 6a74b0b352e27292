#!/usr/bin/env bash
# Makes sure a Python interpreter can `import torch, numpy` (for
# scripts/lm_reference.py, the PyTorch reference of the Go language model)
# and prints that interpreter's path as the last line of stdout:
#
#   PY=$(scripts/torch.sh) && "$PY" scripts/lm_reference.py golden
#
# It tries /usr/bin/python3 first, then python3 on PATH; when neither has
# torch it installs Debian's python3-torch and python3-numpy with apt (never
# pip, never a download of its own) and checks again. Quiet when torch is
# already there; progress goes to stderr.
set -euo pipefail

say() { echo "torch.sh: $*" >&2; }
sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

candidates() {
  echo /usr/bin/python3
  command -v python3 2>/dev/null || true
}

find_python() {
  local py
  while read -r py; do
    [ -n "$py" ] && [ -x "$py" ] || continue
    if "$py" -c 'import torch, numpy' >/dev/null 2>&1; then
      echo "$py"
      return 0
    fi
  done < <(candidates)
  return 1
}

if py=$(find_python); then
  echo "$py"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  say "no python3 can import torch and numpy, and apt-get is missing; install PyTorch by hand"
  exit 1
fi

pkgs=(python3-torch python3-numpy)
say "no python3 can import torch and numpy; installing ${pkgs[*]} with apt (this can take minutes)"
apt_install() { sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }
# Refresh the package lists only when apt does not know the package yet, or
# when installing from the lists it has fails (stale lists).
updated=false
if [ -z "$(apt-cache policy python3-torch 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}')" ]; then
  sudo_ apt-get update -qq
  updated=true
fi
if ! apt_install; then
  if $updated; then say "apt-get install ${pkgs[*]} failed"; exit 1; fi
  say "apt-get install failed; refreshing the package lists and trying again"
  sudo_ apt-get update -qq
  apt_install || { say "apt-get install ${pkgs[*]} failed"; exit 1; }
fi

if py=$(find_python); then
  echo "$py"
  exit 0
fi
say "installed ${pkgs[*]}, but still no python3 on /usr/bin or PATH can import torch and numpy"
exit 1
