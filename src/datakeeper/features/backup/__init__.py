"""Snapshots of the data disk on the backup disk (rsync), their manifest and retention."""
