"""The counseling record of a session: what is recorded while it runs, the report (page, PDF, CSV)
and retention."""
