"""Domain logic, callable and testable without HTTP."""
