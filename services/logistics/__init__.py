"""Logistics domain services (seed 001 lcs): no HTTP here."""
