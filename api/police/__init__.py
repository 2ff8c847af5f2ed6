"""The police liaison inbox: server-rendered Chinese web pages at /police/ (no JavaScript build step)."""
