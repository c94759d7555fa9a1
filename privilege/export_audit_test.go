package privilege

// SetPGAuditAfterCopy sets the hook run after each successful COPY of a;
// its error becomes the attempt's (an acknowledgement "lost"). Set it
// before the first Audit.
func SetPGAuditAfterCopy(a *PostgresAudit, fn func() error) { a.afterCopy = fn }
