package httpapi

// RoutePatterns exposes the server's route list to the tests of package
// httpapi_test (which drive the whole service).
func RoutePatterns() []string { return routePatterns() }
