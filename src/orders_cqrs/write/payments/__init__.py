"""Payment providers behind one port, and the reconciler that finishes interrupted attempts."""
