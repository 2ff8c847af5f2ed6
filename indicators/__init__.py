"""Indicators as the alliance knows them: reading one as a principal may (reads.py), and disputes (disputes.py)."""
