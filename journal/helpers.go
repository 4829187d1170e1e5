package journal

import (
	"net"
	"strings"
)

// Recorder records journal entries; *Journal is one. Code that journals
// (the HTTP API, the command line) depends on it, not on the journal.
type Recorder interface {
	Record(e Entry) error
}

var _ Recorder = (*Journal)(nil)

// SourceIP returns the IP address of a peer address ("host:port", as
// http.Request.RemoteAddr gives it), without the port: the port
// identifies nothing and is left out of the journal.
func SourceIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return strings.Trim(remote, "[]")
}

// Tenant returns an entry's Tenant for a caller of role acting as id:
// "bank:<code>" for a bank, "siren:<SIREN>" for a company, "" for the
// roles that act for no tenant (auditor, regulator, admin).
func Tenant(role, id string) string {
	switch {
	case id == "":
		return ""
	case role == "bank":
		return "bank:" + id
	case role == "company":
		return "siren:" + id
	}
	return ""
}
