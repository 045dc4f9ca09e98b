package service

import (
	"context"

	"github.com/rosterhq/roster/webhook"
)

// RunWebhooks sends due deliveries from the outbox until ctx ends, then
// waits for the attempts under way (see webhook.Worker.Run).
func (s *Service) RunWebhooks(ctx context.Context) {
	w := &webhook.Worker{Outbox: s.core.DB, Log: s.Log, RetryBase: s.Config.WebhookRetryBase, AllowPrivate: s.Config.WebhookAllowPrivate,
		Timeout: s.Config.WebhookTimeout, Resolver: s.Config.WebhookResolver}
	w.Run(ctx)
}
