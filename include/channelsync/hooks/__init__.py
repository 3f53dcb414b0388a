"""Thin Airflow hooks: each turns an Airflow connection into a plain client from ``channelsync.clients``."""
