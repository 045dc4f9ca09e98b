package httpapi

// areaRoutes are the guarded areas' routes (numbers, applications,
// settings, credentials, billing, pricing, logs) and personal API keys.
func (s *Server) areaRoutes() []Route {
	return nil
}
