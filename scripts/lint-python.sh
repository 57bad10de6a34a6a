#!/usr/bin/env bash
# Checks the project's Python (the files ruff.toml names: the rescue tools rescue/repair-disk,
# find-disk, fetch-key, the engine package rescue/engine/, and test/rescue/*.py) with the tools
# pinned in requirements-dev.txt: `ruff format --check` (formatted as ruff formats it), `ruff check`
# (the lint rules in ruff.toml), mypy over the engine package, and pytest over its unit tests
# (test/rescue/engine/). Exits non-zero when any finds anything (or could not run), and says which.
#
# The tools are installed with pip into .cache/ruff-venv when one is missing or the venv was not
# installed from this very requirements-dev.txt (its sha256 is kept in the venv);
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

# The requirements the venv was installed from (mypy and pytest come with ruff: one install).
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
marker=$venv/requirements.sha256
installed_from() { cat "$marker" 2>/dev/null || echo none; }

mkdir -p "$cache"
[[ -f $cache/.gitignore ]] || printf '*\n' >"$cache/.gitignore"

found=$(installed_version)
if [[ $found != "ruff $version" || $(installed_from) != "$wanted" ]]; then
    echo "lint-python: installing ruff $version into $venv (found: $found)" >&2
    rm -rf "$venv"
    if "$python" -m venv "$venv"; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements"
        venv_python=$venv/bin/python
    elif "$python" -m pip --version >/dev/null 2>&1; then
        # No venv module (Debian's python3 without python3-venv): the wheel alone, with the system
        # pip, into a folder of its own (--target leaves the system's packages alone).
        echo "lint-python: no working venv; installing with $python -m pip --target instead" >&2
        rm -rf "$venv"
        "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$venv/lib" -r "$requirements"
        mkdir -p "$venv/bin"
        ln -sf ../lib/bin/ruff "$ruff"
        venv_python=$python
    else
        echo "lint-python: $python has neither venv nor pip; install python3-venv (or python3-pip)" >&2
        exit 2
    fi
    found=$(installed_version)
    if [[ $found != "ruff $version" ]]; then
        echo "lint-python: installed ruff reports '$found', not 'ruff $version'" >&2
        exit 2
    fi
    printf '%s\n' "${venv_python:-$venv/bin/python}" >"$venv/python"
    printf '%s\n' "$wanted" >"$marker"
fi
# The python that has mypy and pytest: the venv's, or (no venv module) the system's with the
# packages in $venv/lib on its path.
tools_python=$(cat "$venv/python" 2>/dev/null || echo "$venv/bin/python")
export PYTHONPATH=$venv/lib${PYTHONPATH:+:$PYTHONPATH}
for module in mypy pytest; do
    if ! "$tools_python" -c "import $module" 2>/dev/null; then
        echo "lint-python: $module is not importable by $tools_python (installed from $requirements?); not checked" >&2
        exit 2
    fi
done

# The rescue tools have no .py suffix, so ruff sees them only because ruff.toml names them: make
# sure it still does, or a config change could let them go unchecked while everything passes.
files=$("$ruff" check --show-files) || {
    echo "lint-python: FAILED: ruff check --show-files (ruff.toml unreadable?)" >&2
    exit 2
}
for tool in rescue/repair-disk rescue/find-disk rescue/fetch-key rescue/engine/cli.py rescue/engine/linux/guest.py test/rescue/engine/test_rules.py; do
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

# The engine package, type-checked as the rescue VMs' python3 runs it (Debian 12: 3.11). Its only
# imports outside the standard library are hivex (the hive worker) and yaml (a YAML rules file):
# both optional at run time, neither with stubs, so missing imports are not errors.
tool() {
    local rc=0 name=$1
    shift
    echo "lint-python: $name"
    "$@" || rc=$?
    if ((rc != 0)); then
        failed+=("$name (exit $rc)")
    fi
}
tool "mypy rescue/engine" env MYPYPATH=rescue "$tools_python" -m mypy --python-version 3.11 --check-untyped-defs --ignore-missing-imports \
    --warn-unused-ignores --warn-redundant-casts --strict-equality --no-incremental -p engine
# The engine's unit tests (no root, no disk: the disk-image tests are test/rescue/*.test.ts).
# pytest's exit 5 (no test collected) is a failure too: a test folder that lost its tests checks nothing.
tool "pytest test/rescue/engine" "$tools_python" -m pytest -q -p no:cacheprovider test/rescue/engine

if ((${#failed[@]})); then
    for f in "${failed[@]}"; do echo "lint-python: FAILED: $f" >&2; done
    exit 1
fi
echo "lint-python: ruff $version: format and lint clean; mypy and pytest passed"
