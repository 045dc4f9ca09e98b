package grpcapi

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/rosterhq/roster/service"
)

// HealthPoll is how often a Watch of the health service looks at whether
// the check index is fresh.
const HealthPoll = time.Second

// healthServer is the standard health service (grpc/health): the server
// ("") is SERVING while it runs; ServiceName is SERVING while the check
// index is fresh and NOT_SERVING while svc.Fresh fails (a replica cut off
// from its database), so a load balancer sends checks elsewhere. The state
// is read at each Check and List, and every HealthPoll while a Watch is
// open: no goroutine outlives the calls.
type healthServer struct {
	*health.Server
	svc  *service.Service
	mu   sync.Mutex
	last healthpb.HealthCheckResponse_ServingStatus
}

func newHealthServer(svc *service.Service) *healthServer {
	h := &healthServer{Server: health.NewServer(), svc: svc, last: -1}
	h.refresh()
	return h
}

// refresh publishes the check service's state when it changed. From the
// start of a shutdown (service.Drain) the server as a whole ("") is
// NOT_SERVING too, so a balancer moves away while the listener still
// answers what it is sent.
func (h *healthServer) refresh() {
	st := healthpb.HealthCheckResponse_SERVING
	if h.svc.Ready(context.Background()) != nil { // the one readiness: draining, database, fresh index
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if st != h.last {
		h.last = st
		h.SetServingStatus(ServiceName, st)
		if h.svc.Draining() {
			h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
		}
	}
}

func (h *healthServer) Check(ctx context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.refresh()
	return h.Server.Check(ctx, in)
}

func (h *healthServer) List(ctx context.Context, in *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	h.refresh()
	return h.Server.List(ctx, in)
}

func (h *healthServer) Watch(in *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	h.refresh()
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	go func() {
		t := time.NewTicker(HealthPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				h.refresh()
			}
		}
	}()
	return h.Server.Watch(in, stream)
}
