# Sourced by the scripts that need root (loop devices and mounts): `as_root WHY "$@"` runs the
# calling script again through sudo when it is not root and sudo exists, or stops with WHY.
as_root() {
    local why=$1
    shift
    [[ $(id -u) -eq 0 ]] && return 0
    if command -v sudo >/dev/null 2>&1; then exec sudo --preserve-env=PATH bash "$0" "$@"; fi
    echo "$why, and there is no sudo" >&2
    exit 1
}
