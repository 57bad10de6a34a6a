"""repair-disk: repair one attached OS disk offline, on a Linux rescue VM.

The engine as a package: common (exit codes, Failure, commands), rules, disks (partition tables,
the lock), workspace (loops and mounts, always released), files (find and quarantine), windows/
(BitLocker, registry hives, BCD, the NTFS repair) and cli (arguments, the run, the evidence).
It ships to rescue VMs as ONE file, a zipapp built by rescue/payload.ts and installed as
/usr/local/lib/bootloop-rescue/repair-disk; locally, rescue/repair-disk runs it from this folder.
It needs only python3 (stdlib), util-linux, ntfs-3g, mtools, dislocker for BitLocker volumes, and
python3-hivex (loaded only by the hive worker, under /usr/bin/python3).
"""
