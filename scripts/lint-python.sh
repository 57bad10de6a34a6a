#!/usr/bin/env bash
# Checks the project's Python (the files ruff.toml names: the rescue tools rescue/repair-disk,
# find-disk, fetch-key, and test/rescue/*.py) with the ruff pinned in requirements-dev.txt:
# `ruff format --check` (formatted as ruff formats it) and `ruff check` (the lint rules in
# ruff.toml). Exits non-zero when either finds anything, and says which.
#
# ruff is installed with pip into .cache/ruff-venv when it is missing or not the pinned version;
# .cache/ keeps itself out of git (this script writes a .gitignore of "*" into it, as ruff does
# in its own cache). Needs python3 with venv (Debian: python3-venv) or, failing that, pip
# (python3-pip), and the package index once. To fix what it finds: .cache/ruff-venv/bin/ruff
# format, then .cache/ruff-venv/bin/ruff check (--fix for what it can fix).
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=requirements-dev.txt
cache=.cache
venv=$cache/ruff-venv
ruff=$venv/bin/ruff
python=${PYTHON:-python3}

version=$(sed -n 's/^ruff==\([0-9][0-9a-z.]*\).*/\1/p' "$requirements")
if [[ -z $version ]]; then
    echo "lint-python: $requirements has no ruff==VERSION line" >&2
    exit 2
fi

installed_version() {
    # Only a probe: a missing or broken ruff reads as "none" and is installed again.
    if [[ -x $ruff ]]; then "$ruff" --version 2>/dev/null || echo none; else echo none; fi
}

mkdir -p "$cache"
[[ -f $cache/.gitignore ]] || printf '*\n' >"$cache/.gitignore"

found=$(installed_version)
if [[ $found != "ruff $version" ]]; then
    echo "lint-python: installing ruff $version into $venv (found: $found)" >&2
    rm -rf "$venv"
    if "$python" -m venv "$venv"; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements"
    elif "$python" -m pip --version >/dev/null 2>&1; then
        # No venv module (Debian's python3 without python3-venv): the wheel alone, with the system
        # pip, into a folder of its own (--target leaves the system's packages alone).
        echo "lint-python: no working venv; installing with $python -m pip --target instead" >&2
        rm -rf "$venv"
        "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$venv/lib" -r "$requirements"
        mkdir -p "$venv/bin"
        ln -sf ../lib/bin/ruff "$ruff"
    else
        echo "lint-python: $python has neither venv nor pip; install python3-venv (or python3-pip)" >&2
        exit 2
    fi
    found=$(installed_version)
    if [[ $found != "ruff $version" ]]; then
        echo "lint-python: installed ruff reports '$found', not 'ruff $version'" >&2
        exit 2
    fi
fi

# The rescue tools have no .py suffix, so ruff sees them only because ruff.toml names them: make
# sure it still does, or a config change could let them go unchecked while everything passes.
files=$("$ruff" check --show-files) || {
    echo "lint-python: FAILED: ruff check --show-files (ruff.toml unreadable?)" >&2
    exit 2
}
for tool in rescue/repair-disk rescue/find-disk rescue/fetch-key; do
    if ! grep -q -- "/$tool\$" <<<"$files"; then
        echo "lint-python: FAILED: ruff.toml does not include $tool" >&2
        exit 1
    fi
done

failed=()
step() {
    local rc=0
    echo "lint-python: ruff $*"
    "$ruff" "$@" || rc=$?
    if ((rc != 0)); then
        failed+=("ruff $* (exit $rc)")
    fi
}
step format --check
step check

if ((${#failed[@]})); then
    for f in "${failed[@]}"; do echo "lint-python: FAILED: $f" >&2; done
    exit 1
fi
echo "lint-python: ruff $version: format and lint clean"
