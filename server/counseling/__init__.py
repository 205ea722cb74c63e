"""The counseling practice: stage models (built-in and a counselor's own) and session plans."""
