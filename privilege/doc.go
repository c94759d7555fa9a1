// Package privilege decides who may do what: RBAC with a role hierarchy
// plus ABAC policies whose conditions are CEL expressions, with every
// decision explained.
package privilege
