-- Activity feeds read the audit log by target (one prompt's history).
CREATE INDEX audit_log_target ON audit_log (target, id);
