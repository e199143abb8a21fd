"""The shared kit: what every app uses and that imports no app (only Django and the
standard library): the area vocabulary and URL declarations, the client address, the one
refusal path, form helpers, paging, progress bars, absolute links and safe CSV.
docs/architecture.md draws where it sits."""
