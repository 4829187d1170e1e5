package httpapi

import "github.com/prometheus/client_golang/prometheus"

// RoutePatterns exposes the server's route list to the tests of package
// httpapi_test (which drive the whole service).
func RoutePatterns() []string { return routePatterns() }

// routePatterns returns the pattern of every endpoint, in order.
func routePatterns() []string {
	s := &Server{cfg: Config{Registry: prometheus.NewRegistry()}}
	eps := s.endpoints()
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = e.pattern
	}
	return out
}
