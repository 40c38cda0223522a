"""The output tables: membership, change log, run history, sync state; and how a run updates them."""
