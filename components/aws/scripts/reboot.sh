# Reboot: restarts the instance up to MAX_REBOOTS times and stops at the first healthy boot (both
# status checks passing, and the Windows boot marker in the console output where it is
# available). An instance that is healthy already gets no restart. Changes no volume. Prints one
# JSON report; with MUST_RECOVER=true an instance that never boots healthy reports status failed (its own outcome).
need AWS_REGION INSTANCE_ID VM_LABEL MAX_REBOOTS REBOOT_TIMEOUT_SECONDS MUST_RECOVER BOOT_MARKER
expect INSTANCE_ID '^i-([0-9a-f]{8}|[0-9a-f]{17})$'

vm_healthy_within() { healthy_within "$1"; }
vm_restart() {
    instance_now
    case $state in
        running) aws_json ec2 reboot-instances --instance-ids "$INSTANCE_ID" >/dev/null ;;
        stopped) aws_json ec2 start-instances --instance-ids "$INSTANCE_ID" >/dev/null ;;
        stopping) wait_instance stopped "$STOP_TIMEOUT_SECONDS" && aws_json ec2 start-instances --instance-ids "$INSTANCE_ID" >/dev/null ;;
        pending) ;;
        *) fail "$VM_LABEL: $INSTANCE_ID is $state and cannot be restarted; nothing was done" ;;
    esac
}

reboot_until_healthy
