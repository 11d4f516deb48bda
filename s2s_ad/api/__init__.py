"""The public API: the transforms users call, the higher-order family, custom rules, the CLI."""
