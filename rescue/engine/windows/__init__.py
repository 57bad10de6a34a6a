"""Windows guests: BitLocker, registry hives and the BCD store, the NTFS volume's repair."""
