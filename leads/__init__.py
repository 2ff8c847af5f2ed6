"""Leads once filed: reading them as a principal may (reads.py), and a member withdrawing its own (retraction.py)."""
