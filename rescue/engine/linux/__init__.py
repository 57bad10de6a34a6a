"""Linux guests: their file systems found from the guest's own fstab and block ids, and the repairs
of the Linux rules (mask-service, fstab-nofail)."""
