package greyroute

// endpointState is the live state of one instance (to be built).
type endpointState struct{}
