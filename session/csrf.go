package session

// csrfConfig is the CSRF part of a Manager's configuration.
type csrfConfig struct{}
