"""Developer tools that run from a checkout only; they are not shipped in the wheel."""
