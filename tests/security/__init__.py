"""Hostile input: each payload of issue 12 replayed as a test."""
