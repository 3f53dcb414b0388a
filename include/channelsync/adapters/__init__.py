"""Adapters: distributor shapes → canonical tables, and canonical plans → PSA writes."""
