# Reboot: resets the instance up to MAX_REBOOTS times and stops at the first healthy boot (RUNNING,
# and the Windows boot marker on serial port 1 in output written after that reset). Serial output
# keeps earlier boots' lines, so an instance is never taken as healthy without a restart of its
# own: the first reset always happens. Changes no disk. Prints one JSON report; with
# MUST_RECOVER=true an instance that never boots healthy reports status failed (its own outcome).
need PROJECT ZONE INSTANCE VM_LABEL MAX_REBOOTS REBOOT_TIMEOUT_SECONDS MUST_RECOVER BOOT_MARKER
expect PROJECT "$PATTERN_PROJECT"
expect ZONE "$PATTERN_ZONE"
expect INSTANCE "$PATTERN_NAME"

from=0
vm_already_healthy() { return 1; }
vm_healthy_within() { booted_within "$1" "$from"; }
vm_restart() {
    from=$(serial_next)
    instance_now
    case $status in
        RUNNING) gc instances reset "$INSTANCE" >/dev/null ;;
        TERMINATED) gc instances start "$INSTANCE" >/dev/null ;;
        STOPPING) wait_status TERMINATED "$STOP_TIMEOUT_SECONDS" && gc instances start "$INSTANCE" >/dev/null ;;
        PROVISIONING | STAGING) ;;
        *) fail "$VM_LABEL: $INSTANCE is $status and cannot be restarted; nothing was done" ;;
    esac
}

reboot_until_healthy
