"""Test support: a FastCGI client written from the spec, and daemon and nginx launchers."""
