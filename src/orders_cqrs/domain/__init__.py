"""The domain: pure Python, no I/O. Rules live here and nowhere else."""
