"""Streamlit dashboard for support managers (reads the warehouse, never writes it)."""
