"""The audit trail as its own app: the ``AuditEntry`` model and ``log.record``, the one
way to write it. Every app records; this app imports none of them."""
