# Shared by measure.sh and runner-cgroup.sh (sourced).
# remove_cgroups DIR...: removes each (empty) cgroup folder; one whose last process just ended can be
# busy for a moment, so each is tried for about two seconds.
remove_cgroups() {
    local d
    for d in "$@"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            rmdir "$d" 2>/dev/null && break
            [[ -d $d ]] || break
            sleep 0.2
        done
    done
}
