"""Conditions -> plan -> sqlglot expressions. No I/O: adapters execute what this builds."""
